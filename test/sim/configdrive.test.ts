// The config drive as a string, as Ironic takes it: a gzipped, base64-encoded ISO (the seed's
// form, any microversion) or a URL. Ironic checks only that such a string is made of base64
// characters (whitespace allowed) unless it holds '://', and keeps it as given.
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { call, faultstring, waitForState } from './helpers.js';

let sim: Simulator;
afterEach(async () => {
  await sim?.close();
});

const IMAGE = gzipSync(Buffer.alloc(64 * 2048, 0x20)).toString('base64');

describe('a string config drive', () => {
  it('is accepted at API 1.1 and kept verbatim in instance_info, which the API masks', async () => {
    sim = await startSimulator({ deployMs: 20 });
    const n = sim.addNode({ provisionState: 'available' });
    const r = await call(
      sim,
      'PUT',
      `/v1/nodes/${n.uuid}/states/provision`,
      { target: 'active', configdrive: IMAGE },
      null,
    );
    expect(r.status, r.text).toBe(202);
    await waitForState(sim, n.uuid, 'active');
    expect(sim.node(n.uuid)?.instance_info['configdrive']).toBe(IMAGE);
    const shown = await call(sim, 'GET', `/v1/nodes/${n.uuid}`);
    expect((shown.json as { instance_info: Record<string, unknown> }).instance_info['configdrive']).toBe(
      '******',
    );
  });

  it('may be wrapped in lines, as base64 tools write it, or be a URL', async () => {
    sim = await startSimulator({ deployMs: 20 });
    const wrapped = IMAGE.replace(/.{76}/g, '$&\n');
    for (const configdrive of [wrapped, 'http://configdrive.example/drive.iso.gz']) {
      const n = sim.addNode({ provisionState: 'available' });
      const r = await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, {
        target: 'active',
        configdrive,
      });
      expect(r.status, r.text).toBe(202);
      await waitForState(sim, n.uuid, 'active');
      expect(sim.node(n.uuid)?.instance_info['configdrive']).toBe(configdrive);
    }
  });

  it('is refused when it is neither base64 nor a URL, with Ironic’s message, and the node stays', async () => {
    sim = await startSimulator({ deployMs: 20 });
    const n = sim.addNode({ provisionState: 'available' });
    for (const configdrive of ['not base64!', '#cloud-config\nruncmd: []\n', 'H4sI\u00e9']) {
      const r = await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, {
        target: 'active',
        configdrive,
      });
      expect(r.status, r.text).toBe(400);
      expect(faultstring(r)).toBe(
        'Invalid configdrive format: it is neither a JSON, nor a URL, nor a base64 string',
      );
    }
    expect(sim.node(n.uuid)?.provision_state).toBe('available');
  });
});
