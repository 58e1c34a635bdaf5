// The differential scenarios: the same raw requests against the real Ironic and the simulator.
// Each scenario enrolls its own nodes, so all of them can run at once on one server.
import { randomBytes, randomUUID } from 'node:crypto';
import { call, FAKE_INTERFACES, settledIn, type NodeView } from './http.js';
import { powerToken, provisionToken, Recorder, type Fact } from './transcript.js';

export interface Scenario {
  name: string;
  run(r: Recorder): Promise<void>;
}

/**
 * States a poll may or may not catch: `verifying` and `cleaning` (no clean steps on fake-hardware)
 * last tens of milliseconds on the real Ironic. The walk drops them on both servers.
 */
const FLEETING = ['verifying>manageable', 'cleaning>available', 'manageable>available', 'enroll>manageable'];
const provisionWalk = { view: provisionToken, fleeting: FLEETING };
const powerWalk = { view: powerToken };

const powerSettled =
  (state: string) =>
  (n: NodeView): boolean =>
    n.power_state === state && n.target_power_state === null && !n.reservation;

/** A locally administered unicast MAC, so ports of concurrent runs never collide. */
function randomMac(): string {
  const bytes = [0x52, 0x54, ...randomBytes(4)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

async function enroll(r: Recorder, step: string): Promise<string> {
  const res = await r.request(step, 'POST', '/v1/nodes', { ...FAKE_INTERFACES });
  const body = res.json as NodeView;
  r.fact(`${step}: created node`, {
    provision_state: body.provision_state,
    target_provision_state: body.target_provision_state,
    instance_uuid: body.instance_uuid,
    reservation: body.reservation ?? null,
  });
  return body.uuid;
}

async function makeAvailable(r: Recorder, node: string): Promise<void> {
  await r.request('manage', 'PUT', `/v1/nodes/${node}/states/provision`, { target: 'manage' });
  await r.walk('enroll -> manageable', node, settledIn('manageable'), provisionWalk);
  await r.request('provide', 'PUT', `/v1/nodes/${node}/states/provision`, { target: 'provide' });
  await r.walk('manageable -> available', node, settledIn('available'), provisionWalk);
}

/** The seed's spawn order: instance fields, VIFs, then provision `active` with a config drive. */
async function deploy(r: Recorder, node: string, vif: string): Promise<string> {
  const instance = randomUUID();
  await r.request('set instance_uuid + instance_info', 'PATCH', `/v1/nodes/${node}`, [
    { op: 'add', path: '/instance_uuid', value: instance },
    {
      op: 'add',
      path: '/instance_info',
      value: { image_source: 'http://127.0.0.1/image.qcow2', root_gb: '10' },
    },
  ]);
  await r.request('attach vif', 'POST', `/v1/nodes/${node}/vifs`, { id: vif });
  await r.request('provision active', 'PUT', `/v1/nodes/${node}/states/provision`, {
    target: 'active',
    configdrive: { meta_data: { uuid: randomUUID(), hostname: 'differential' } },
  });
  await r.walk('available -> active', node, settledIn('active'), provisionWalk);
  return instance;
}

async function instanceFields(r: Recorder, step: string, node: string, instance: string): Promise<void> {
  const res = await r.request(`${step}: GET node`, 'GET', `/v1/nodes/${node}`);
  const n = res.json as NodeView;
  r.fact(step, {
    instance_uuid: n.instance_uuid === instance ? 'the deployed instance' : n.instance_uuid,
    instance_info_keys: Object.keys(n.instance_info ?? {}).sort(),
  });
}

export const scenarios: readonly Scenario[] = [
  {
    name: 'enroll, manage, provide',
    async run(r) {
      const node = await enroll(r, 'enroll');
      await makeAvailable(r, node);
    },
  },
  {
    name: 'deploy, then teardown with automated cleaning',
    async run(r) {
      const node = await enroll(r, 'enroll');
      await makeAvailable(r, node);
      const vif = randomUUID();
      const instance = await deploy(r, node, vif);
      await instanceFields(r, 'after deploy', node, instance);
      await r.request('detach vif before unprovisioning', 'DELETE', `/v1/nodes/${node}/vifs/${vif}`);
      await r.request('provision deleted', 'PUT', `/v1/nodes/${node}/states/provision`, {
        target: 'deleted',
      });
      await r.walk(
        'active -> deleting -> cleaning -> available',
        node,
        settledIn('available'),
        provisionWalk,
      );
      // Ironic clears the instance fields itself when tear down finishes.
      await instanceFields(r, 'after teardown', node, instance);
    },
  },
  {
    name: 'teardown while the node is locked (the seed bug: detaching after unprovisioning)',
    async run(r) {
      const node = await enroll(r, 'enroll');
      await makeAvailable(r, node);
      const vif = randomUUID();
      const instance = await deploy(r, node, vif);
      await r.request('provision deleted', 'PUT', `/v1/nodes/${node}/states/provision`, {
        target: 'deleted',
      });
      // Answered by the API at once, from the provision state alone.
      await r.request('PATCH remove instance_info while deleting', 'PATCH', `/v1/nodes/${node}`, [
        { op: 'remove', path: '/instance_info' },
      ]);
      await r.request('provision deleted again while deleting', 'PUT', `/v1/nodes/${node}/states/provision`, {
        target: 'deleted',
      });
      // Both need the conductor's lock; Ironic retries taking it for a while before answering 409,
      // so they are sent together to be answered while tear down still holds it.
      await r.requestAll([
        { step: 'detach vif while deleting', method: 'DELETE', path: `/v1/nodes/${node}/vifs/${vif}` },
        {
          step: 'power off while deleting',
          method: 'PUT',
          path: `/v1/nodes/${node}/states/power`,
          body: { target: 'power off' },
        },
      ]);
      await r.walk('deleting -> available', node, settledIn('available'), provisionWalk);
      await instanceFields(r, 'after teardown', node, instance);
    },
  },
  {
    name: 'transitions refused from the wrong state',
    async run(r) {
      const node = await enroll(r, 'enroll');
      const put = (step: string, target: string) =>
        r.request(step, 'PUT', `/v1/nodes/${node}/states/provision`, { target });
      await put('active on enroll', 'active');
      await put('deleted on enroll', 'deleted');
      await put('provide on enroll', 'provide');
      await put('unknown verb', 'fly');
      await makeAvailable(r, node);
      await put('deleted on available', 'deleted');
      await put('provide on available', 'provide');
      await put('manage on available', 'manage');
      await r.walk('available -> manageable', node, settledIn('manageable'), provisionWalk);
    },
  },
  {
    // Ironic as scripts/ironic-standalone.sh runs it defaults to network_interface=noop, which
    // accepts every attach and detach and lists nothing.
    name: 'VIFs on network_interface noop: accepted, not tracked',
    async run(r) {
      const node = await enroll(r, 'enroll');
      await makeAvailable(r, node);
      const vif = randomUUID();
      await r.request('attach vif', 'POST', `/v1/nodes/${node}/vifs`, { id: vif });
      await r.request('attach the same vif again', 'POST', `/v1/nodes/${node}/vifs`, { id: vif });
      const list = await r.request('list vifs', 'GET', `/v1/nodes/${node}/vifs`);
      r.fact(
        'vifs listed',
        ((list.json as { vifs?: { id: string }[] }).vifs ?? []).map((v) => v.id === vif),
      );
      await r.request('detach a vif never attached', 'DELETE', `/v1/nodes/${node}/vifs/${randomUUID()}`);
      await r.request('detach the attached vif', 'DELETE', `/v1/nodes/${node}/vifs/${vif}`);
      await r.request('attach vif to unknown node', 'POST', `/v1/nodes/${randomUUID()}/vifs`, { id: vif });
    },
  },
  {
    // The errors Nova's driver meets in production come from the port-based interfaces (flat,
    // neutron): VIFs live on ports and portgroups. The real Ironic needs a Neutron stand-in for
    // this one (test/ironic-real/fake-neutron.ts).
    name: 'VIF errors on network_interface flat: no free port, attach twice, detach unknown',
    async run(r) {
      const res = await r.request('enroll flat node', 'POST', '/v1/nodes', {
        ...FAKE_INTERFACES,
        network_interface: 'flat',
      });
      const node = (res.json as NodeView).uuid;
      const group = await r.request('create portgroup without address', 'POST', '/v1/portgroups', {
        node_uuid: node,
      });
      const vifs = async (step: string) => {
        const list = await r.request(step, 'GET', `/v1/nodes/${node}/vifs`);
        return ((list.json as { vifs?: { id: string }[] }).vifs ?? []).map((v) => v.id);
      };
      const first = randomUUID();
      await r.request('attach vif, portgroup has no ports', 'POST', `/v1/nodes/${node}/vifs`, { id: first });
      await r.request('create port in the portgroup', 'POST', '/v1/ports', {
        node_uuid: node,
        address: randomMac(),
        portgroup_uuid: (group.json as { uuid: string }).uuid,
      });
      await r.request('attach vif', 'POST', `/v1/nodes/${node}/vifs`, { id: first });
      await r.request('attach the same vif again', 'POST', `/v1/nodes/${node}/vifs`, { id: first });
      await r.request('attach a second vif, no free port left', 'POST', `/v1/nodes/${node}/vifs`, {
        id: randomUUID(),
      });
      r.fact(
        'vifs after attach',
        (await vifs('list vifs after attach')).map((v) => v === first),
      );
      await r.request('detach a vif never attached', 'DELETE', `/v1/nodes/${node}/vifs/${randomUUID()}`);
      await r.request('detach the attached vif', 'DELETE', `/v1/nodes/${node}/vifs/${first}`);
      await r.request('detach it again', 'DELETE', `/v1/nodes/${node}/vifs/${first}`);
      r.fact('vifs after detach', await vifs('list vifs after detach'));
    },
  },
  {
    // A node POSTed without a network interface gets Ironic's default: default_network_interface,
    // noop in scripts/ironic-standalone.sh, on which a VIF attach needs no port. One not in
    // enabled_network_interfaces (noop, flat) is refused; removing it goes back to the default.
    name: 'network interface: the default of a POSTed node, refusals, reset on remove',
    async run(r) {
      const res = await r.request('enroll without network_interface', 'POST', '/v1/nodes', {
        ...FAKE_INTERFACES,
      });
      const node = (res.json as NodeView).uuid;
      const iface = (json: unknown): Fact =>
        (json as { network_interface?: string }).network_interface ?? null;
      r.fact('network_interface of the new node', iface(res.json));
      await r.request('attach vif to the port-less node', 'POST', `/v1/nodes/${node}/vifs`, {
        id: randomUUID(),
      });
      await r.request('enroll with network_interface neutron, not enabled', 'POST', '/v1/nodes', {
        ...FAKE_INTERFACES,
        network_interface: 'neutron',
      });
      const patch = (value: string) => [{ op: 'replace', path: '/network_interface', value }];
      await r.request('patch network_interface to neutron', 'PATCH', `/v1/nodes/${node}`, patch('neutron'));
      const flat = await r.request(
        'patch network_interface to flat',
        'PATCH',
        `/v1/nodes/${node}`,
        patch('flat'),
      );
      r.fact('network_interface after patch', iface(flat.json));
      const removed = await r.request('remove network_interface', 'PATCH', `/v1/nodes/${node}`, [
        { op: 'remove', path: '/network_interface' },
      ]);
      r.fact('network_interface after remove', iface(removed.json));
    },
  },
  {
    // The node watcher's sweep lists nodes with fields= (the plain list: /v1/nodes/detail refuses
    // fields) and matches runs that named their node by name: the name is there only if asked for.
    // (No GET by name here: the reference Ironic sometimes answers those 404 under load.)
    name: 'list with fields: a node name only when asked for',
    async run(r) {
      const name = `diff-${randomUUID().slice(0, 8)}`;
      const res = await r.request('enroll named node', 'POST', '/v1/nodes', { ...FAKE_INTERFACES, name });
      const node = (res.json as NodeView).uuid;
      const listed = async (step: string, fields: string): Promise<Fact> => {
        const list = await r.request(step, 'GET', `/v1/nodes?fields=${fields}`);
        const nodes = (list.json as { nodes?: Record<string, unknown>[] }).nodes ?? [];
        const mine = nodes.find((n) => n.uuid === node);
        if (!mine) return null;
        return { keys: Object.keys(mine).sort(), name_matches: mine.name === name };
      };
      r.fact('fields with name', await listed('list with name', 'uuid,name,provision_state,reservation'));
      r.fact('fields without name', await listed('list without name', 'uuid,provision_state'));
    },
  },
  {
    name: 'power on, off, reboot, soft power off with target_power_state',
    async run(r) {
      const node = await enroll(r, 'enroll');
      await makeAvailable(r, node);
      const power = (step: string, body: Record<string, unknown>) =>
        r.request(step, 'PUT', `/v1/nodes/${node}/states/power`, body);
      await power('power on', { target: 'power on' });
      await r.walk('power -> on', node, powerSettled('power on'), powerWalk);
      await power('power off', { target: 'power off' });
      await r.walk('power -> off', node, powerSettled('power off'), powerWalk);
      await power('reboot from off', { target: 'rebooting' });
      await r.walk('reboot -> on', node, powerSettled('power on'), powerWalk);
      await power('soft power off with timeout', { target: 'soft power off', timeout: 5 });
      await r.walk('soft power off -> off', node, powerSettled('power off'), powerWalk);
      await power('unknown power target', { target: 'sideways' });
    },
  },
  {
    name: 'pagination with limit, marker and next',
    async run(r) {
      const mine = [await enroll(r, 'enroll 1'), await enroll(r, 'enroll 2'), await enroll(r, 'enroll 3')];
      const limit = 2;
      // Other scenarios enroll nodes at the same time, so the number of pages is not fixed: the
      // transcript records properties of the walk over them, not each page.
      const pages: { uuids: string[]; next: string | null }[] = [];
      const statuses = new Set<number>();
      let path: string | null = `/v1/nodes?limit=${limit}`;
      while (path !== null && pages.length < 1000) {
        const res = await call(r.baseUrl, 'GET', path);
        statuses.add(res.status);
        const body = res.json as { nodes: { uuid: string }[]; next?: string };
        pages.push({ uuids: body.nodes.map((n) => n.uuid), next: body.next ?? null });
        path = body.next ? new URL(body.next).pathname + new URL(body.next).search : null;
      }
      r.fact('every page answered', [...statuses]);
      const seen = pages.flatMap((p) => p.uuids);
      r.fact(
        'every page within the limit',
        pages.every((p) => p.uuids.length <= limit),
      );
      r.fact(
        'next present exactly on full pages',
        pages.every((p) => (p.next !== null) === (p.uuids.length === limit)),
      );
      r.fact(
        'next carries limit and the last uuid as marker',
        pages
          .filter((p) => p.next !== null)
          .every((p) => {
            const next = new URL(p.next!);
            return (
              next.pathname === '/v1/nodes' &&
              next.searchParams.get('limit') === String(limit) &&
              next.searchParams.get('marker') === p.uuids.at(-1)
            );
          }),
      );
      r.fact('no node listed twice', new Set(seen).size === seen.length);
      r.fact(
        'enrolled nodes listed in creation order',
        seen.filter((u) => mine.includes(u)).join() === mine.join(),
      );
    },
  },
  {
    name: 'error bodies, unknown nodes, refused query arguments, versions',
    async run(r) {
      const missing = await r.request('GET unknown node', 'GET', `/v1/nodes/${randomUUID()}`);
      const outer = missing.json as Record<string, unknown>;
      const inner = typeof outer.error_message === 'string' ? JSON.parse(outer.error_message) : null;
      r.fact('error body shape', {
        outer_keys: Object.keys(outer).sort(),
        error_message_type: typeof outer.error_message,
        inner_keys: inner ? Object.keys(inner).sort() : null,
        faultcode: inner?.faultcode ?? null,
      });
      await r.request('PUT provision on unknown node', 'PUT', `/v1/nodes/${randomUUID()}/states/provision`, {
        target: 'manage',
      });
      await r.request('GET unknown node by name', 'GET', '/v1/nodes/no-such-node-name');
      await r.request('fields= on /v1/nodes/detail', 'GET', '/v1/nodes/detail?fields=uuid');
      await r.request('fields= on /v1/nodes', 'GET', '/v1/nodes?fields=uuid,provision_state&limit=1');
      await r.request('microversion newer than served', 'GET', '/v1/nodes', undefined, {
        'x-openstack-ironic-api-version': '1.99',
      });
      const root = await r.request('root document', 'GET', '/');
      const doc = root.json as { default_version?: { version?: string; min_version?: string } };
      r.fact('root versions', {
        version: doc.default_version?.version ?? null,
        min_version: doc.default_version?.min_version ?? null,
      });
      const listed = await r.request('versioned list', 'GET', '/v1/nodes?limit=1');
      r.fact('microversion headers', {
        minimum: String(listed.headers['x-openstack-ironic-api-minimum-version'] ?? null),
        maximum: String(listed.headers['x-openstack-ironic-api-maximum-version'] ?? null),
        version: String(listed.headers['x-openstack-ironic-api-version'] ?? null),
      });
    },
  },
];

export async function runScenario(scenario: Scenario, baseUrl: string, poll: Recorder['poll']) {
  const r = new Recorder(baseUrl, poll);
  await scenario.run(r);
  return { scenario: scenario.name, entries: r.entries };
}
