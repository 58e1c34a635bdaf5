// Issue 15, findings 1-3, as one set of scenarios run against the simulator (test/e2e) and the
// real Ironic (test/ironic-real): a CLI process is SIGKILLed after Ironic took its request (a
// proxy holds Ironic's answer), the world moves on (Ironic finishes, the node goes to another
// instance), and `ironledger resume` must then neither act on the other instance nor report
// success for an instance the node does not hold; a non-idempotent request whose answer is lost
// is never sent twice.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { call, pollNode, settledIn, type PollOptions } from '../differential/http.js';
import { deployFakeNode } from '../ironic-real/helpers.js';
import { peekRun } from '../ironic-real/engine-helpers.js';
import { childEnv, CLI, cli, json } from './cli.js';
import { FaultProxy, type ProxyRule } from './fault-proxy.js';

export interface Backend {
  /** The Ironic (or simulator) behind the proxy. */
  url(): string;
  /** A fresh node in `available` that can take `vifs` VIFs. */
  availableNode(vifs: number): Promise<string>;
  poll: PollOptions;
  dir(): string;
}

const CLEAN_ENV = { IRONIC_URL: '', OS_ENDPOINT: '', OS_TOKEN: '', IRONLEDGER_DB: '' };

/** Starts the CLI; SIGKILLs it the moment `ready()` holds (checked every 5 ms) or `taken` fires. */
async function killWhen(argv: string[], ready: (() => boolean) | Promise<void>): Promise<void> {
  const child = spawn(process.execPath, [CLI, ...argv], {
    env: childEnv(CLEAN_ENV),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited: number | null | undefined;
  const closed = new Promise<void>((resolve) =>
    child.on('close', (code) => {
      exited = code;
      resolve();
    }),
  );
  if (typeof ready === 'function') {
    const deadline = Date.now() + 60_000;
    while (!ready()) {
      if (exited !== undefined)
        throw new Error(`the CLI exited (${exited}) before the kill point:\n${stderr}`);
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 5));
    }
  } else {
    await Promise.race([ready, closed]);
    if (exited !== undefined) throw new Error(`the CLI exited (${exited}) before the kill point:\n${stderr}`);
  }
  child.kill('SIGKILL');
  await closed;
}

/** A promise that settles once the proxy took the request `rule` matches. */
function takeOnce(proxy: FaultProxy, rule: Omit<ProxyRule, 'onMatch'>): Promise<void> {
  return new Promise((resolve) => proxy.once({ ...rule, onMatch: resolve }));
}

async function provision(base: string, node: string, target: string): Promise<void> {
  const res = await call(base, 'PUT', `/v1/nodes/${node}/states/provision`, { target });
  if (res.status !== 202) throw new Error(`PUT provision ${target} answered ${res.status}: ${res.text}`);
}

export function wrongInstanceScenarios(backend: Backend): void {
  let proxy: FaultProxy;
  beforeEach(async () => {
    proxy = await FaultProxy.start(backend.url());
  });
  afterEach(async () => {
    await proxy.close();
  });

  const global = (db: string): string[] => [
    '--ironic-url',
    proxy.url,
    '--db',
    db,
    '--poll-interval',
    '200',
    '--retry-interval',
    '200',
    '--json',
  ];
  /** Requests our CLI sent for `node` from index `from` of the proxy's record on. */
  const sentSince = (from: number, node: string) =>
    proxy.forwarded.slice(from).filter((f) => f.path.includes(node));
  const mutating = (from: number, node: string) =>
    sentSince(from, node)
      .filter((f) => f.method !== 'GET')
      .map((f) => `${f.method} ${f.path.split(node).join('N')}`);

  /** Resumes the teardown: it succeeds, names the instance on the node now, and changes nothing. */
  const resumeLeavesItAlone = async (db: string, node: string, theirs: string): Promise<void> => {
    const from = proxy.forwarded.length;
    const resumed = await cli([...global(db), 'resume', peekRun(db)!.id]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = json<{ status: string; warnings: string[] }>(resumed);
    expect(result.status).toBe('succeeded');
    expect(result.warnings.join('\n')).toContain(`now holds instance ${theirs}`);
    expect(mutating(from, node)).toEqual([]);
  };

  it('a teardown killed after Ironic took `deleted` and resumed once the node holds another instance leaves that instance alone (finding 1)', async () => {
    const base = backend.url();
    const node = await backend.availableNode(2);
    const [mine, theirs] = [randomUUID(), randomUUID()];
    await deployFakeNode(base, node, { instanceUuid: mine, vifs: ['vif-mine'], poll: backend.poll });
    const db = join(backend.dir(), `teardown-${mine}.db`);

    const taken = takeOnce(proxy, { method: 'PUT', path: /\/states\/provision$/, action: 'stall' });
    await killWhen([...global(db), 'destroy', '--instance', mine, '--vif', 'vif-mine'], taken);
    expect(peekRun(db)).toMatchObject({ status: 'running', state: 'unprovision.requestDeleted' });

    // Ironic finishes the teardown on its own; the scheduler gives the node to another instance.
    await pollNode(base, node, settledIn('available'), backend.poll);
    await deployFakeNode(base, node, { instanceUuid: theirs, vifs: ['vif-theirs'], poll: backend.poll });

    // A new command for the instance is refused while its unfinished run is in the store.
    const refused = await cli([...global(db), 'destroy', '--instance', mine]);
    expect(refused.code).toBe(2);
    expect(json<{ error: { code: string; message: string } }>(refused).error).toMatchObject({
      code: 'ENGINE_UNFINISHED_RUN',
      message: expect.stringContaining(peekRun(db)!.id) as string,
    });

    await resumeLeavesItAlone(db, node, theirs);
    const now = (await call(base, 'GET', `/v1/nodes/${node}`)).json as Record<string, unknown>;
    expect(now).toMatchObject({ provision_state: 'active', instance_uuid: theirs });
  });

  it('a teardown killed after its first VIF detach and resumed once the node holds another instance detaches none of its VIFs (finding 1)', async () => {
    const base = backend.url();
    const node = await backend.availableNode(2);
    const [mine, theirs] = [randomUUID(), randomUUID()];
    await deployFakeNode(base, node, { instanceUuid: mine, vifs: ['vif-a', 'vif-b'], poll: backend.poll });
    const db = join(backend.dir(), `detach-${mine}.db`);

    const taken = takeOnce(proxy, { method: 'DELETE', path: /\/vifs\/vif-a$/, action: 'stall' });
    await killWhen([...global(db), 'destroy', '--instance', mine, '--vif', 'vif-a', '--vif', 'vif-b'], taken);
    expect(peekRun(db)).toMatchObject({ status: 'running', state: 'cleanup.unplugVifs' });

    // Someone else tears the instance down; the next instance reuses the port vif-b (Nova lets a
    // server boot on a pre-created port another server used before).
    await provision(base, node, 'deleted');
    await pollNode(base, node, settledIn('available'), backend.poll);
    await deployFakeNode(base, node, { instanceUuid: theirs, vifs: ['vif-b'], poll: backend.poll });

    await resumeLeavesItAlone(db, node, theirs);
  });

  it('a deploy killed while waiting and resumed once the node holds another instance fails instead of reporting success (finding 2)', async () => {
    const base = backend.url();
    const node = await backend.availableNode(1);
    const [mine, theirs] = [randomUUID(), randomUUID()];
    const db = join(backend.dir(), `deploy-${mine}.db`);
    await killWhen(
      [
        ...global(db),
        'deploy',
        '--node',
        node,
        '--instance',
        mine,
        '--image-source',
        'http://127.0.0.1/image.qcow2',
      ],
      () => (peekRun(db)?.state ?? '').startsWith('waitActive'),
    );
    expect(peekRun(db)?.status).toBe('running');

    // The deploy finishes in Ironic, the instance is torn down, and another takes the node.
    await pollNode(base, node, settledIn('active'), backend.poll);
    await provision(base, node, 'deleted');
    await pollNode(base, node, settledIn('available'), backend.poll);
    await deployFakeNode(base, node, { instanceUuid: theirs, vifs: [], poll: backend.poll });

    const from = proxy.forwarded.length;
    const resumed = await cli([...global(db), 'resume', peekRun(db)!.id]);
    expect(resumed.code).toBe(1);
    const result = json<{ status: string; error: { code: string; message: string } }>(resumed);
    expect(result.status).toBe('failed');
    expect(result.error.code).toBe('INSTANCE_GONE');
    expect(result.error.message).toContain(theirs);
    expect(mutating(from, node)).toEqual([]);
  });

  it('a rebuild killed after Ironic took it and resumed after it finished is not requested again (finding 3)', async () => {
    const base = backend.url();
    const node = await backend.availableNode(1);
    const mine = randomUUID();
    await deployFakeNode(base, node, { instanceUuid: mine, vifs: [], poll: backend.poll });
    const db = join(backend.dir(), `rebuild-${mine}.db`);

    const taken = takeOnce(proxy, { method: 'PUT', path: /\/states\/provision$/, action: 'stall' });
    await killWhen(
      [...global(db), 'rebuild', '--instance', mine, '--image-source', 'http://127.0.0.1/image2.qcow2'],
      taken,
    );
    expect(peekRun(db)).toMatchObject({ status: 'running', state: 'requestRebuild' });
    // Ironic rebuilds (deploying -> active) while nobody watches.
    await pollNode(
      base,
      node,
      (n) =>
        n.provision_state === 'deploying' ||
        n.provision_state === 'wait call-back' ||
        n.provision_state === 'active',
      backend.poll,
    );
    await pollNode(base, node, settledIn('active'), backend.poll);

    const from = proxy.forwarded.length;
    const resumed = await cli([...global(db), 'resume', peekRun(db)!.id]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(json<{ status: string }>(resumed).status).toBe('succeeded');
    expect(mutating(from, node)).toEqual([]);
    expect(proxy.sent('PUT', /\/states\/provision$/).map((f) => f.body)).toEqual([
      JSON.stringify({ target: 'rebuild' }),
    ]);
  });

  it('a reboot whose answer is lost is not sent again: the node is read and found rebooting (finding 3)', async () => {
    const base = backend.url();
    const node = await backend.availableNode(1);
    const mine = randomUUID();
    await deployFakeNode(base, node, { instanceUuid: mine, vifs: [], poll: backend.poll });
    const db = join(backend.dir(), `reboot-${mine}.db`);

    proxy.once({ method: 'PUT', path: /\/states\/power$/, action: 'drop' });
    const r = await cli([...global(db), 'reboot', '--instance', mine]);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ status: string }>(r).status).toBe('succeeded');
    const powers = proxy.sent('PUT', /\/states\/power$/);
    expect(powers).toHaveLength(1);
    expect(powers[0]?.taken).toBe('drop');
  });
}
