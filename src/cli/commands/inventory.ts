// `ironledger nodes` and `ironledger instances`: what this scheduler host owns and what
// each node offers (seed: get_available_nodes, get_available_resource, get_info).
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { IronicClient } from '../../ironic/client.js';
import { Inventory } from '../../inventory/inventory.js';
import { withReader } from '../reader.js';
import { isPostgresUrl } from '../../store/run-store.js';
import {
  durationOption,
  ironicOptions,
  makeContext,
  type CliContext,
  type GlobalOptions,
} from '../context.js';
import { CliError, EXIT_ENVIRONMENT, EXIT_OK } from '../output.js';
import { IronicError } from '../../ironic/errors.js';
import { table } from '../render.js';
import {
  checkFormatOptions,
  printRows,
  withFormatOptions,
  type Column,
  type FormatOptions,
} from '../format.js';
import type { InventoryInstance, InventoryNode } from '../../inventory/inventory.js';

/**
 * Instances this database manages: a deploy (or rebuild) that succeeded and no
 * teardown that succeeded after it. Without a database, none.
 */
export async function managedInstances(db: string): Promise<Set<string>> {
  const managed = new Set<string>();
  if (!isPostgresUrl(db) && !existsSync(db)) return managed;
  const rows = (await withReader(db, (store) => store.listRuns({ status: 'succeeded' }))).reverse();
  for (const r of rows) {
    if (!r.instanceUuid) continue;
    if (r.op === 'deploy' || r.op === 'rebuild') managed.add(r.instanceUuid);
    else if (r.op === 'destroy') managed.delete(r.instanceUuid);
  }
  return managed;
}

function parseHosts(hosts: string | undefined, host: string): string[] {
  const list = (hosts ?? host)
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  if (list.length === 0) throw new CliError('--hosts needs at least one host name.');
  return list;
}

interface InventoryCommandOptions extends FormatOptions {
  hosts?: string;
  host?: string;
  timeout: string;
}

/** `nodes -c`: the table's columns, by the names -f json -c prints them under. */
const NODE_COLUMNS: ReadonlyArray<Column<InventoryNode>> = [
  { key: 'uuid', header: 'UUID', get: (r) => r.node.uuid },
  { key: 'name', header: 'NAME', get: (r) => r.node.name },
  { key: 'provisionState', header: 'PROVISION', get: (r) => r.node.provision_state },
  { key: 'powerState', header: 'POWER', get: (r) => r.node.power_state },
  { key: 'maintenance', header: 'MAINT', get: (r) => r.node.maintenance },
  { key: 'instance', header: 'INSTANCE', get: (r) => r.node.instance_uuid },
  { key: 'owner', header: 'OWNER', get: (r) => r.owner },
  { key: 'owned', header: 'OWNED', get: (r) => r.owned },
  { key: 'resourceClass', header: 'CLASS', get: (r) => r.resources.resourceClass },
  { key: 'cpuArch', header: 'ARCH', get: (r) => r.resources.cpuArch },
  { key: 'vcpusUsed', header: 'VCPUS USED', get: (r) => r.resources.vcpusUsed },
  { key: 'vcpus', header: 'VCPUS', get: (r) => r.resources.vcpus },
  { key: 'memoryMbUsed', header: 'RAM MB USED', get: (r) => r.resources.memoryMbUsed },
  { key: 'memoryMb', header: 'RAM MB', get: (r) => r.resources.memoryMb },
  { key: 'localGbUsed', header: 'DISK GB USED', get: (r) => r.resources.localGbUsed },
  { key: 'localGb', header: 'DISK GB', get: (r) => r.resources.localGb },
];

/** `instances -c`. */
const INSTANCE_COLUMNS: ReadonlyArray<Column<InventoryInstance>> = [
  { key: 'instance', header: 'INSTANCE', get: (r) => r.instance },
  { key: 'node', header: 'NODE', get: (r) => r.node },
  { key: 'nodeName', header: 'NODE NAME', get: (r) => r.nodeName },
  { key: 'provisionState', header: 'PROVISION', get: (r) => r.provisionState },
  { key: 'state', header: 'STATE', get: (r) => r.info.state },
  { key: 'cpus', header: 'CPUS', get: (r) => r.info.numCpu },
  { key: 'memoryMb', header: 'MEM MB', get: (r) => Math.round(r.info.memKb / 1024) },
  { key: 'maintenance', header: 'MAINT', get: (r) => r.maintenance },
  { key: 'owner', header: 'OWNER', get: (r) => r.owner },
];

/**
 * Runs `fn` against a connected inventory within the command's --timeout (0: no limit beyond
 * each request's own deadline). When the limit passes, the request in flight is aborted and the
 * command fails CLI_TIMEOUT, exit 3: Ironic did not answer in time, the command itself is fine.
 */
async function withInventory<T>(
  ctx: CliContext,
  command: string,
  o: InventoryCommandOptions,
  fn: (inv: Inventory, host: string, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const limitS = durationOption('--timeout', o.timeout);
  const host = o.host ?? hostname();
  const hosts = parseHosts(o.hosts, host);
  const managed = await managedInstances(ctx.opts.db);
  const options = ironicOptions(ctx);
  const controller = new AbortController();
  const timer = limitS > 0 ? setTimeout(() => controller.abort(), limitS * 1000) : undefined;
  try {
    const client = await IronicClient.connect(options, { signal: controller.signal });
    try {
      const inv = new Inventory({
        ironic: client,
        host,
        liveHosts: () => hosts,
        managedInstances: () => managed,
        warn: (message, facts) => ctx.log.warn(facts ?? {}, message),
      });
      return await fn(inv, host, controller.signal);
    } finally {
      await client.close();
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
    const pending =
      err instanceof IronicError && err.method !== null && err.path !== null
        ? `: ${err.method} ${err.path} had no usable answer yet`
        : '';
    throw new CliError(
      `${command} did not finish within its --timeout of ${limitS} s${pending}`,
      EXIT_ENVIRONMENT,
      'CLI_TIMEOUT',
    );
  } finally {
    clearTimeout(timer);
  }
}

const TIMEOUT_HELP =
  "give up on the whole command after this long (90s, 2m; 0: no limit beyond each request's deadline)";

const used = (u: number, t: number): string => `${u}/${t}`;

/**
 * Retries of a read-only command against an unreachable Ironic unless --max-retries is given: a
 * person asking what Ironic holds wants an answer or an error in seconds (about 6 s at the default
 * interval), not the two minutes a lifecycle command keeps trying for.
 */
export const READ_ONLY_MAX_RETRIES = 3;

/** The global options with the read-only retry budget, when --max-retries was not given. */
function readOnly(program: Command, g: GlobalOptions): GlobalOptions {
  return program.getOptionValueSource('maxRetries') === 'default'
    ? { ...g, maxRetries: String(READ_ONLY_MAX_RETRIES) }
    : g;
}

export function registerInventoryCommands(
  program: Command,
  run: (fn: (g: GlobalOptions) => Promise<number>) => Promise<void>,
): void {
  withFormatOptions(program.command('nodes'))
    .description("each node's state, owner on the hash ring, and resources")
    .option('--hosts <a,b,c>', 'live scheduler hosts (default: this host alone)')
    .option('--host <name>', 'this scheduler host (default: the machine name)')
    .option('--timeout <duration>', TIMEOUT_HELP, '0')
    .action(async (o: InventoryCommandOptions) =>
      run(async (g) => {
        const ctx = makeContext(readOnly(program, g));
        checkFormatOptions(ctx, 'nodes', o, NODE_COLUMNS);
        await withInventory(ctx, 'nodes', o, async (inv, host, signal) => {
          await inv.refresh({ signal });
          const rows = await inv.nodes();
          const head = [
            'UUID',
            'NAME',
            'PROVISION',
            'POWER',
            'MAINT',
            'INSTANCE',
            'OWNER',
            'CLASS',
            'ARCH',
            'VCPUS USED/TOTAL',
            'RAM MB USED/TOTAL',
            'DISK GB USED/TOTAL',
          ];
          const lines = rows.map((r) => [
            r.node.uuid,
            r.node.name ?? '-',
            r.node.provision_state ?? '-',
            r.node.power_state ?? '-',
            r.node.maintenance ? 'yes' : 'no',
            r.node.instance_uuid ?? '-',
            r.owner === null ? '-' : `${r.owner}${r.owned ? ' *' : ''}`,
            r.resources.resourceClass ?? '-',
            r.resources.cpuArch ?? '-',
            used(r.resources.vcpusUsed, r.resources.vcpus),
            used(r.resources.memoryMbUsed, r.resources.memoryMb),
            used(r.resources.localGbUsed, r.resources.localGb),
          ]);
          const legend = rows.some((r) => r.owned) ? `\n* owned by this host (${host})` : '';
          printRows(ctx, 'nodes', o, {
            columns: NODE_COLUMNS,
            rows,
            doc: rows,
            human: () => (rows.length ? `${table([head, ...lines])}${legend}` : 'no nodes'),
          });
        });
        return EXIT_OK;
      }),
    );

  withFormatOptions(program.command('instances'))
    .description('instances Ironic holds, with their node, power state, CPUs and memory')
    .option('--hosts <a,b,c>', 'live scheduler hosts (default: this host alone)')
    .option('--host <name>', 'this scheduler host (default: the machine name)')
    .option('--timeout <duration>', TIMEOUT_HELP, '0')
    .action(async (o: InventoryCommandOptions) =>
      run(async (g) => {
        const ctx = makeContext(readOnly(program, g));
        checkFormatOptions(ctx, 'instances', o, INSTANCE_COLUMNS);
        await withInventory(ctx, 'instances', o, async (inv, _host, signal) => {
          const rows = await inv.instances({ signal });
          const head = [
            'INSTANCE',
            'NODE',
            'NODE NAME',
            'PROVISION',
            'STATE',
            'CPUS',
            'MEM MB',
            'MAINT',
            'OWNER',
          ];
          const lines = rows.map((r) => [
            r.instance,
            r.node,
            r.nodeName ?? '-',
            r.provisionState ?? '-',
            r.info.state,
            String(r.info.numCpu),
            String(Math.round(r.info.memKb / 1024)),
            r.maintenance ? 'yes' : 'no',
            r.owner ?? '-',
          ]);
          printRows(ctx, 'instances', o, {
            columns: INSTANCE_COLUMNS,
            rows,
            doc: rows,
            human: () => (rows.length ? table([head, ...lines]) : 'no instances'),
          });
        });
        return EXIT_OK;
      }),
    );
}
