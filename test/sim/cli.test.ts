// `ironledger sim` (the built CLI, dist/cli/main.js): the network interface its nodes get.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, cli } from '../e2e/cli.js';

const VIF = '7b0c1f7e-3a2d-4c61-9a0e-2f1f0e7b5a11';
const HEADERS = { 'content-type': 'application/json', 'x-openstack-ironic-api-version': '1.82' };

interface Started {
  url: string;
  stop(): Promise<number | null>;
}

const running: Started[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

/** Starts `ironledger --json sim ...args` and resolves with the URL it prints. */
function startSim(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [CLI, '--json', 'sim', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      let doc: { url?: unknown };
      try {
        doc = JSON.parse(out) as { url?: unknown };
      } catch {
        return; // not the whole document yet
      }
      if (typeof doc.url !== 'string') return reject(new Error(`ironledger sim printed ${out}`));
      const started: Started = {
        url: doc.url,
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      };
      running.push(started);
      resolve(started);
    });
    void exited.then((code) => reject(new Error(`ironledger sim exited ${code}: ${err}`)));
  });
}

async function postedNodeAttach(url: string): Promise<{ networkInterface: string; attach: number }> {
  const res = await fetch(`${url}/v1/nodes`, {
    method: 'POST',
    headers: HEADERS,
    body: JSON.stringify({ driver: 'fake-hardware' }),
  });
  const node = (await res.json()) as { uuid: string; network_interface: string };
  const attach = await fetch(`${url}/v1/nodes/${node.uuid}/vifs`, {
    method: 'POST',
    headers: HEADERS,
    body: JSON.stringify({ id: VIF }),
  });
  await attach.text();
  return { networkInterface: node.network_interface, attach: attach.status };
}

describe('ironledger sim --network-interface', () => {
  it("defaults to noop, as scripts/ironic-standalone.sh: a port-less node's VIF attach is 204", async () => {
    const sim = await startSim(['--nodes', '0']);
    expect(await postedNodeAttach(sim.url)).toEqual({ networkInterface: 'noop', attach: 204 });
  });

  it('gives flat or neutron when asked, which track VIFs on ports (none here: 400)', async () => {
    const [flat, neutron] = await Promise.all([
      startSim(['--nodes', '0', '--network-interface', 'flat']),
      startSim(['--nodes', '0', '--network-interface', 'neutron']),
    ]);
    expect(await postedNodeAttach(flat.url)).toEqual({ networkInterface: 'flat', attach: 400 });
    expect(await postedNodeAttach(neutron.url)).toEqual({ networkInterface: 'neutron', attach: 400 });
    expect(await flat.stop()).toBe(0);
  });

  it('refuses an unknown interface in one line, exit 2', async () => {
    const r = await cli(['sim', '--port', '0', '--network-interface', 'vlan']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'ironledger: --network-interface must be noop, flat or neutron, got "vlan". [CLI_USAGE]',
    ]);
  });
});

describe('ironledger sim --max-concurrent-deploy / --max-concurrent-clean', () => {
  it("refuses a deploy past the limit with Ironic's 500 ConcurrentActionLimit", async () => {
    const sim = await startSim(['--nodes', '2', '--deploy-seconds', '5', '--max-concurrent-deploy', '1']);
    const list = (await (await fetch(`${sim.url}/v1/nodes`, { headers: HEADERS })).json()) as {
      nodes: Array<{ uuid: string }>;
    };
    const deploy = (uuid: string) =>
      fetch(`${sim.url}/v1/nodes/${uuid}/states/provision`, {
        method: 'PUT',
        headers: HEADERS,
        body: JSON.stringify({ target: 'active' }),
      });
    expect((await deploy(list.nodes[0]!.uuid)).status).toBe(202);
    const refused = await deploy(list.nodes[1]!.uuid);
    expect(refused.status).toBe(500);
    expect(await refused.text()).toContain('The concurrent action limit for provisioning has been reached');
  });

  it('refuses a limit below 1 in one line, exit 2', async () => {
    const r = await cli(['sim', '--port', '0', '--max-concurrent-clean', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      `ironledger: --max-concurrent-clean must be a whole number from 1 to 1000000, got "0". [CLI_USAGE]`,
    ]);
  });
});
