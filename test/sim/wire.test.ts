import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { call, faultstring, INSTANCE } from './helpers.js';

let sim: Simulator;
afterEach(async () => {
  await sim?.close();
});

interface Page {
  nodes: Record<string, unknown>[];
  next?: string;
}

describe('microversions', () => {
  it('serves the root document without version headers and /v1 with them', async () => {
    sim = await startSimulator();
    const root = await call(sim, 'GET', '/', undefined, null);
    expect(root.headers.get('x-openstack-ironic-api-version')).toBeNull();
    expect(root.json).toEqual({
      name: 'OpenStack Ironic API',
      description:
        'Ironic is an OpenStack project which enables the provision and management of baremetal machines.',
      default_version: {
        id: 'v1',
        links: [{ href: `${sim.url}/v1/`, rel: 'self' }],
        status: 'CURRENT',
        min_version: '1.1',
        version: '1.82',
      },
      versions: [
        {
          id: 'v1',
          links: [{ href: `${sim.url}/v1/`, rel: 'self' }],
          status: 'CURRENT',
          min_version: '1.1',
          version: '1.82',
        },
      ],
    });
    const v1 = await call(sim, 'GET', '/v1', undefined, null);
    expect(v1.headers.get('x-openstack-ironic-api-minimum-version')).toBe('1.1');
    expect(v1.headers.get('x-openstack-ironic-api-maximum-version')).toBe('1.82');
    expect(v1.headers.get('x-openstack-ironic-api-version')).toBe('1.1');
    expect((v1.json as { version: { version: string } }).version.version).toBe('1.82');
  });

  it('negotiates latest to the maximum and echoes the version used', async () => {
    sim = await startSimulator({ maxVersion: '1.78' });
    const r = await call(sim, 'GET', '/v1/nodes', undefined, 'latest');
    expect(r.headers.get('x-openstack-ironic-api-version')).toBe('1.78');
    expect(
      (await call(sim, 'GET', '/v1/nodes', undefined, '1.46')).headers.get('x-openstack-ironic-api-version'),
    ).toBe('1.46');
  });

  it('answers 406 for versions out of range, with the supported range', async () => {
    sim = await startSimulator();
    const r = await call(sim, 'GET', '/v1/nodes', undefined, '1.99');
    expect(r.status).toBe(406);
    expect(r.headers.get('x-openstack-ironic-api-maximum-version')).toBe('1.82');
    expect(r.headers.get('x-openstack-ironic-api-version')).toBeNull();
    expect(r.text).toBe(
      '{"error_message": "{\\"code\\": 406, \\"title\\": \\"Not Acceptable\\", \\"description\\": \\"Version 1.99 was requested but the minor version is not supported by this service. The supported version range is: [1.1, 1.82].\\"}"}',
    );
    expect((await call(sim, 'GET', '/v1/nodes', undefined, '1.0')).status).toBe(406);
  });

  it('answers 406 without version headers for a malformed version', async () => {
    sim = await startSimulator();
    const r = await call(sim, 'GET', '/v1/nodes', undefined, 'abc');
    expect(r.status).toBe(406);
    expect(r.headers.get('x-openstack-ironic-api-minimum-version')).toBeNull();
    expect(r.text).toContain('Invalid value for X-OpenStack-Ironic-API-Version header');
  });
});

describe('error bodies', () => {
  it("are byte-identical to Ironic's for a missing node", async () => {
    sim = await startSimulator();
    const r = await call(sim, 'GET', '/v1/nodes/nope');
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.text).toBe(
      '{"error_message": "{\\"faultcode\\": \\"Client\\", \\"faultstring\\": \\"Node nope could not be found.\\", \\"debuginfo\\": null}"}',
    );
  });

  it('use webob bodies for unknown routes and methods', async () => {
    sim = await startSimulator();
    expect((await call(sim, 'GET', '/v1/bogus')).text).toBe(
      '{"error_message": "{\\"code\\": 404, \\"title\\": \\"Not Found\\", \\"description\\": \\"\\"}"}',
    );
    const m = await call(sim, 'POST', '/v1/nodes/x/states');
    expect(m.status).toBe(405);
  });
});

describe('GET /v1/nodes', () => {
  it("pages by limit and marker in creation order with Ironic's next links", async () => {
    sim = await startSimulator({ nodes: 5 });
    const ids = sim.nodeIds();
    const first = (await call(sim, 'GET', '/v1/nodes?limit=2&fields=uuid,provision_state&maintenance=false'))
      .json as Page;
    expect(first.nodes.map((n) => n.uuid)).toEqual(ids.slice(0, 2));
    expect(first.nodes[0]).toEqual({
      uuid: ids[0],
      provision_state: 'available',
      links: [
        { href: `${sim.url}/v1/nodes/${ids[0]}`, rel: 'self' },
        { href: `${sim.url}/nodes/${ids[0]}`, rel: 'bookmark' },
      ],
    });
    expect(first.next).toBe(
      `${sim.url}/v1/nodes?sort_key=id&sort_dir=asc&fields=uuid,provision_state&limit=2&marker=${ids[1]}`,
    );
    const seen: string[] = [];
    let url: string | undefined = `${sim.url}/v1/nodes?limit=2`;
    while (url) {
      const page = (await call(sim, 'GET', url.slice(sim.url.length))).json as Page;
      seen.push(...page.nodes.map((n) => n.uuid as string));
      url = page.next;
    }
    expect(seen).toEqual(ids);
  });

  it('caps pages at 1000 nodes when no limit is given', async () => {
    sim = await startSimulator({ nodes: 1001 });
    const page = (await call(sim, 'GET', '/v1/nodes')).json as Page;
    expect(page.nodes).toHaveLength(1000);
    expect(page.next).toBe(
      `${sim.url}/v1/nodes?sort_key=id&sort_dir=asc&limit=1000&marker=${sim.nodeIds()[999]}`,
    );
  });

  it('lists the default summary fields, with name from API 1.5', async () => {
    sim = await startSimulator();
    sim.addNode({ name: 'n1' });
    const old = (await call(sim, 'GET', '/v1/nodes', undefined, null)).json as Page;
    expect(Object.keys(old.nodes[0]!)).toEqual([
      'uuid',
      'instance_uuid',
      'maintenance',
      'power_state',
      'provision_state',
      'links',
    ]);
    const newer = (await call(sim, 'GET', '/v1/nodes')).json as Page;
    expect(newer.nodes[0]!.name).toBe('n1');
  });

  it('filters by instance_uuid, associated, provision_state and maintenance', async () => {
    sim = await startSimulator({ nodes: 2 });
    const a = sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE });
    sim.addNode({ maintenance: true });
    const byInstance = (
      await call(sim, 'GET', `/v1/nodes?instance_uuid=${INSTANCE}&fields=uuid,instance_uuid`)
    ).json as Page;
    expect(byInstance.nodes.map((n) => n.uuid)).toEqual([a.uuid]);
    const associated = (await call(sim, 'GET', '/v1/nodes?associated=True')).json as Page;
    expect(associated.nodes.map((n) => n.uuid)).toEqual([a.uuid]);
    const active = (await call(sim, 'GET', '/v1/nodes?provision_state=active')).json as Page;
    expect(active.nodes.map((n) => n.uuid)).toEqual([a.uuid]);
    const maint = (await call(sim, 'GET', '/v1/nodes?maintenance=true')).json as Page;
    expect(maint.nodes).toHaveLength(1);
    const bad = await call(sim, 'GET', '/v1/nodes?provision_state=bogus');
    expect(faultstring(bad)).toBe('Provision state "bogus" is not valid');
  });

  it('refuses fields on /detail and reports bad limits and markers like Ironic', async () => {
    sim = await startSimulator({ nodes: 1 });
    const detail = await call(sim, 'GET', '/v1/nodes/detail?fields=uuid');
    expect(detail.status).toBe(400);
    expect(faultstring(detail)).toBe('Unexpected arguments: fields');
    expect(faultstring(await call(sim, 'GET', '/v1/nodes?limit=-1'))).toBe('Limit must be positive');
    expect(faultstring(await call(sim, 'GET', '/v1/nodes?limit=abc'))).toBe(
      'Expected an integer for limit: abc',
    );
    expect(faultstring(await call(sim, 'GET', '/v1/nodes?marker=nope'))).toBe(
      'Expected UUID for marker: nope',
    );
    expect(faultstring(await call(sim, 'GET', '/v1/nodes?maintenance=abc'))).toMatch(
      /^Invalid maintenance: Unrecognized value 'abc'/,
    );
  });

  it("returns full bodies on /detail with Ironic's key order", async () => {
    sim = await startSimulator({ nodes: 1 });
    const page = (await call(sim, 'GET', '/v1/nodes/detail')).json as Page;
    // Captured from Ironic 21.4.4 (GET /v1/nodes/detail at 1.82, fake-hardware).
    const ironicKeys = [
      'uuid',
      'created_at',
      'updated_at',
      'automated_clean',
      'bios_interface',
      'boot_interface',
      'boot_mode',
      'clean_step',
      'conductor_group',
      'console_enabled',
      'console_interface',
      'deploy_interface',
      'deploy_step',
      'description',
      'driver',
      'driver_info',
      'driver_internal_info',
      'extra',
      'fault',
      'inspection_finished_at',
      'inspection_started_at',
      'inspect_interface',
      'instance_info',
      'instance_uuid',
      'last_error',
      'lessee',
      'maintenance',
      'maintenance_reason',
      'management_interface',
      'name',
      'network_data',
      'network_interface',
      'owner',
      'power_interface',
      'power_state',
      'properties',
      'protected',
      'protected_reason',
      'provision_state',
      'provision_updated_at',
      'raid_config',
      'raid_interface',
      'rescue_interface',
      'reservation',
      'resource_class',
      'retired',
      'retired_reason',
      'secure_boot',
      'shard',
      'storage_interface',
      'target_power_state',
      'target_provision_state',
      'target_raid_config',
      'traits',
      'vendor_interface',
      'links',
      'conductor',
      'allocation_uuid',
      'chassis_uuid',
      'ports',
      'states',
      'portgroups',
      'volume',
    ];
    expect(Object.keys(page.nodes[0]!)).toEqual(ironicKeys);
    expect(page.nodes[0]).toMatchObject({
      driver: 'fake-hardware',
      conductor: 'localhost',
      reservation: null,
    });
  });
});

describe('GET /v1/nodes/{node}', () => {
  it('resolves names and returns only the fields asked, in that order', async () => {
    sim = await startSimulator();
    sim.addNode({ name: 'n1' });
    const r = await call(sim, 'GET', '/v1/nodes/n1?fields=provision_state,uuid');
    expect(Object.keys(r.json as object)).toEqual(['provision_state', 'uuid', 'links']);
    expect(faultstring(await call(sim, 'GET', '/v1/nodes/n1?fields=bogus'))).toBe(
      'Field bogus is not a valid field.',
    );
  });

  it('refuses the timestamps in fields= as Ironic 2023.1 does, though the full body carries them', async () => {
    sim = await startSimulator();
    sim.addNode({ name: 'n1' });
    for (const field of ['updated_at', 'created_at']) {
      expect(faultstring(await call(sim, 'GET', `/v1/nodes/n1?fields=uuid,${field}`))).toBe(
        `Field ${field} is not a valid field.`,
      );
      expect(faultstring(await call(sim, 'GET', `/v1/nodes?fields=uuid,${field}`))).toBe(
        `Field ${field} is not a valid field.`,
      );
    }
    expect(Object.keys((await call(sim, 'GET', '/v1/nodes/n1')).json as object)).toContain('updated_at');
    expect((await call(sim, 'GET', '/v1/nodes/n1?fields=uuid,provision_updated_at')).status).toBe(200);
  });
});

describe('robustness', () => {
  it('answers a malformed percent-escape and a non-JSON body without dying', async () => {
    sim = await startSimulator({ nodes: 1 });
    expect((await call(sim, 'GET', '/v1/nodes/%E0%A4%A')).status).toBe(404);
    const bad = await call(sim, 'PUT', `/v1/nodes/${sim.nodeIds()[0]}/states/provision`, '{not json');
    expect(bad.status).toBe(400);
    expect(faultstring(bad)).toBe('Missing mandatory parameter: target');
    expect((await call(sim, 'GET', '/v1/nodes')).status).toBe(200);
  });
});
