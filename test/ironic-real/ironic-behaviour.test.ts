// The behaviour of the real Ironic that our design relies on, checked with raw HTTP so that a
// change in Ironic (not in our code) is what makes these fail.
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import {
  call,
  deployFakeNode,
  enrollFakeNode,
  faultOf,
  getNode,
  loggedRequests,
  makeAvailable,
  pollNode,
  REAL_POLL,
  settledIn,
} from './helpers.js';
import { logMark } from './engine-helpers.js';

const url = inject('ironicUrl');
const log = inject('ironicLog');

describe.skipIf(url === null || log === null).concurrent('the real Ironic (fake-hardware)', () => {
  const base = url!;
  const logPath = log!;

  it('enrolls a node in enroll, and manage then provide bring it to available', async () => {
    const node = await enrollFakeNode(base);
    expect((await getNode(base, node)).provision_state).toBe('enroll');

    const available = await makeAvailable(base, node);

    expect(available).toMatchObject({ provision_state: 'available', reservation: null, instance_uuid: null });
    const requests = (await loggedRequests(logPath, node)).filter((r) => r.method !== 'GET');
    expect(requests.map((r) => `${r.method} ${r.status}`)).toEqual(['PUT 202', 'PUT 202']);
  });

  it("refuses the VIF detach and the instance_info removal with 409 when deleted comes first (the seed's destroy order)", async () => {
    const node = await enrollFakeNode(base);
    await makeAvailable(base, node);
    const vif = randomUUID();
    await deployFakeNode(base, node, { instanceUuid: randomUUID(), vifs: [vif] });

    const deleted = await call(base, 'PUT', `/v1/nodes/${node}/states/provision`, { target: 'deleted' });
    const during = await getNode(base, node);
    const detach = await call(base, 'DELETE', `/v1/nodes/${node}/vifs/${vif}`);
    const patch = await call(base, 'PATCH', `/v1/nodes/${node}`, [{ op: 'remove', path: '/instance_info' }]);

    expect(deleted.status).toBe(202);
    expect(during.provision_state).toBe('deleting');
    expect(during.reservation).not.toBeNull();
    expect(detach.status).toBe(409);
    expect(faultOf(detach)?.faultstring).toBe(
      `Node ${node} is locked by host localhost, please retry after the current operation is completed.`,
    );
    expect(patch.status).toBe(409);
    expect(faultOf(patch)?.faultstring).toBe(
      `Node ${node} can not be updated while a state transition is in progress.`,
    );
    // Ironic logs a request after answering it: wait until a later sentinel GET is logged.
    await logMark(base, logPath, node);
    const ordered = (await loggedRequests(logPath, node)).filter((r) => r.method !== 'GET');
    expect(ordered.slice(-3).map((r) => `${r.method} ${r.path.replace(node, 'N')} ${r.status}`)).toEqual([
      'PUT /v1/nodes/N/states/provision 202',
      `DELETE /v1/nodes/N/vifs/${vif} 409`,
      'PATCH /v1/nodes/N 409',
    ]);
    // Ironic finishes the tear down regardless, and clears the instance fields itself.
    const after = await pollNode(base, node, settledIn('available'), REAL_POLL);
    expect(after).toMatchObject({ instance_uuid: null, instance_info: {} });
  });

  it('accepts every VIF detach made before deleted is requested, and tears down without any 409 (our order)', async () => {
    const node = await enrollFakeNode(base);
    await makeAvailable(base, node);
    const vifs = [randomUUID(), randomUUID()];
    await deployFakeNode(base, node, { instanceUuid: randomUUID(), vifs });

    for (const vif of vifs) {
      expect((await call(base, 'DELETE', `/v1/nodes/${node}/vifs/${vif}`)).status).toBe(204);
    }
    expect(
      (await call(base, 'PUT', `/v1/nodes/${node}/states/provision`, { target: 'deleted' })).status,
    ).toBe(202);
    const after = await pollNode(base, node, settledIn('available'), REAL_POLL);

    expect(after).toMatchObject({ instance_uuid: null, instance_info: {}, last_error: null });
    const requests = (await loggedRequests(logPath, node)).filter((r) => r.method !== 'GET');
    expect(requests.filter((r) => r.status >= 400)).toEqual([]);
    const lastDetach = requests.findLastIndex((r) => r.method === 'DELETE');
    const unprovision = requests.findLastIndex((r) => r.path.endsWith('/states/provision'));
    expect(lastDetach).toBeGreaterThan(-1);
    expect(lastDetach).toBeLessThan(unprovision);
  });

  it('holds the node reserved while deploying, so a power change during deploy is refused as locked', async () => {
    const node = await enrollFakeNode(base);
    await makeAvailable(base, node);
    await call(base, 'PATCH', `/v1/nodes/${node}`, [
      { op: 'add', path: '/instance_uuid', value: randomUUID() },
      { op: 'add', path: '/instance_info', value: { image_source: 'http://127.0.0.1/image.qcow2' } },
    ]);
    expect((await call(base, 'PUT', `/v1/nodes/${node}/states/provision`, { target: 'active' })).status).toBe(
      202,
    );

    const power = await call(base, 'PUT', `/v1/nodes/${node}/states/power`, { target: 'power off' });

    expect(power.status).toBe(409);
    expect(faultOf(power)?.faultstring).toMatch(/is locked by host/);
    await pollNode(base, node, settledIn('active'), REAL_POLL);
  });
});
