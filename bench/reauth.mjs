// How many Keystone token requests do N runs waiting on Ironic make across token expiries?
// N teardowns wait out a long `deleting` (the simulator's Keystone in front of its Ironic) while
// tokens expire every --token-s seconds. Counts token requests, 401s from Ironic, and how every
// run ended. Run after `npm run build`:
//   node bench/reauth.mjs [--sizes 1,100,1000,10000] [--token-s 4] [--wait-s 12] [--poll-ms 1000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Engine } from '../dist/engine/engine.js';
import { startSimulator } from '../dist/sim/index.js';
import { benchArgs } from './args.mjs';

const args = benchArgs(
  'usage: npm run build && node bench/reauth.mjs [--sizes 1,100,1000,10000] [--token-s 4] [--wait-s 12] [--poll-ms 1000]',
  {
    sizes: { kind: 'ints', default: [1, 100, 1000, 10_000], min: 1 },
    'token-s': { kind: 'int', default: 4, min: 1 },
    'wait-s': { kind: 'int', default: 12, min: 1 },
    'poll-ms': { kind: 'int', default: 1000, min: 10 },
  },
);
const PASSWORD = 'bench-password';
const instance = (i) => `22222222-3333-4444-8555-${String(i).padStart(12, '0')}`;

console.log(
  `token lifetime ${args['token-s']} s, each run waits ~${args['wait-s']} s in deleting, watcher tick ${args['poll-ms']} ms`,
);
console.log('runs    wall s  expiries  token requests  per run   Ironic 401s  succeeded');
for (const n of args.sizes) {
  const sim = await startSimulator({
    deleteMs: args['wait-s'] * 1000,
    cleanMs: 10,
    log: false,
    // Every run waits in deleting at once; Ironic's clean limit (50) is not what is measured.
    maxConcurrentClean: Math.max(1, n),
    keystone: {
      users: [{ name: 'admin', password: PASSWORD }],
      tokenLifetimeMs: args['token-s'] * 1000,
    },
  });
  for (let i = 0; i < n; i++) {
    sim.addNode({ provisionState: 'active', powerState: 'power on', instanceUuid: instance(i) });
  }
  const dir = mkdtempSync(join(tmpdir(), 'ironledger-bench-reauth-'));
  const engine = await Engine.open({
    db: join(dir, 'runs.db'),
    ironic: {
      auth: {
        type: 'password',
        authUrl: `${sim.url}/v3`,
        user: { username: 'admin', userDomainName: 'Default' },
        password: PASSWORD,
        project: { projectName: 'admin', projectDomainName: 'Default' },
      },
    },
    pollIntervalMs: args['poll-ms'],
    concurrency: n,
  });
  const started = performance.now();
  const results = await Promise.all(
    Array.from(
      { length: n },
      (_, i) => engine.destroy({ instance: instance(i), vifs: [], waitForAvailable: true }).done,
    ),
  );
  const wallS = (performance.now() - started) / 1000;
  await engine.close();
  const ks = sim.keystone.stats;
  const ok = results.filter((r) => r.status === 'succeeded').length;
  console.log(
    `${String(n).padStart(5)}  ${wallS.toFixed(1).padStart(7)}  ${(wallS / args['token-s']).toFixed(1).padStart(8)}  ${String(ks.tokenRequests).padStart(14)}  ${(ks.tokenRequests / n).toFixed(4).padStart(8)}  ${String(ks.unauthorized).padStart(12)}  ${ok}/${n}`,
  );
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
