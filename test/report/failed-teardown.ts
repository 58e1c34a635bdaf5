// A teardown that fails on the simulator, driven by the real `ironledger` CLI: Ironic answers the
// VIF detach with a 409 (node locked) and a 503 before it lets it through, then the node's
// cleaning fails (`clean failed`, maintenance) with the given last_error, while the destroy waits
// for `available`. Shared by the HTML report tests and the browser suite.
import type { Simulator } from '../../src/sim/index.js';
import { cli, json, type CliResult } from '../e2e/cli.js';

export interface FailedTeardown {
  runId: string;
  node: string;
  instance: string;
  destroy: CliResult;
}

export function cliArgs(sim: Simulator, db: string, ...rest: string[]): string[] {
  return ['--ironic-url', sim.url, '--db', db, '--poll-interval', '20', '--retry-interval', '10', ...rest];
}

export async function failedTeardown(
  sim: Simulator,
  db: string,
  instance: string,
  lastError: string,
  name?: string,
): Promise<FailedTeardown> {
  const node = sim.addNode({
    provisionState: 'active',
    instanceUuid: instance,
    ...(name ? { name } : {}),
  }).uuid;
  sim.addPort(node, { address: '52:54:00:12:34:56', vifId: `vif-${instance.slice(-4)}` });
  sim.failNextClean(node, lastError);
  sim.faults.add({
    method: 'DELETE',
    path: '/v1/nodes/*/vifs/*',
    node,
    script: ['409-locked', '503', 'pass'],
  });
  const destroy = await cli(
    cliArgs(
      sim,
      db,
      '--json',
      'destroy',
      '--instance',
      instance,
      '--vif',
      `vif-${instance.slice(-4)}`,
      '--wait-for-available',
    ),
  );
  if (destroy.code !== 1)
    throw new Error(`the destroy should fail (exit 1), got ${destroy.code}: ${destroy.stderr}`);
  const doc = json<{ runId: string; status: string }>(destroy);
  if (doc.status !== 'failed') throw new Error(`the destroy should fail, got ${doc.status}`);
  return { runId: doc.runId, node, instance, destroy };
}
