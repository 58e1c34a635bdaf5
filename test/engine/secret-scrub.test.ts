// Issue 15, finding 12, at the engine: a run's live secrets (its admin password, user data,
// injected files, the config drive image it sent, the client's token) are scrubbed by value from
// every event recorded, the result the run settles with and its log lines, wherever Ironic
// echoed them; the stream still replays (world.close replays every run).
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineError } from '../../src/engine/errors.js';
import { createLogger } from '../../src/engine/logger.js';
import type { DeployInput } from '../../src/machines/index.js';
import { EventStore } from '../../src/store/event-store.js';
import { deployInput, INSTANCE, makeWorld, type World } from './helpers.js';

const PASSWORD = 'pw-Echo-9b1c';
const TOKEN = 'tok-Echo-41f2aa';
const FILE = 'file-contents-Echo-77';
const USER_DATA = '#!/bin/sh\necho ud-Echo-5d3e\n';

let world: World | null = null;
afterEach(async () => {
  await world?.close();
  world = null;
});

function sinkOf(lines: string[]): Writable {
  return new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
}

/** Every byte the store holds for the run, as its readers get it. */
function recordOf(db: string, runId: string): string {
  const store = EventStore.open(db, { mode: 'reader' });
  try {
    return JSON.stringify([store.getRun(runId), store.readStream(runId)]);
  } finally {
    store.close();
  }
}

function withSecrets(i: number, node: string): DeployInput {
  return {
    ...deployInput(i, node),
    configDrivePlan: { required: true, hasAdminPassword: true, hasUserData: true, injectedFiles: 1 },
  };
}

const secrets = {
  adminPassword: PASSWORD,
  userData: USER_DATA,
  injectedFiles: [{ path: '/etc/x', contents: FILE }],
};

const forms = (s: string): string[] => [s, JSON.stringify(s).slice(1, -1), Buffer.from(s).toString('base64')];

function expectClean(text: string, values: string[]): void {
  for (const v of values.flatMap(forms)) expect(text, `leaks ${JSON.stringify(v)}`).not.toContain(v);
}

describe('a run records no secret Ironic echoes back', () => {
  it('deploy: last_error quoting every secret is recorded, returned and logged without them', async () => {
    const lines: string[] = [];
    world = await makeWorld({ deployMs: 40 }, { logger: createLogger('debug', sinkOf(lines)) });
    // The simulator's url is known once it runs: reopen with a token against it.
    await world.engine.close();
    await world.reopen({
      ironic: { url: world.sim.url, auth: { type: 'token', token: TOKEN }, retryIntervalMs: 10 },
    });
    const echo = `agent said: admin_pass=${PASSWORD} files=${Buffer.from(FILE).toString('base64')} user_data=${JSON.stringify(USER_DATA)} b64=${Buffer.from(USER_DATA).toString('base64')} token=${TOKEN}`;
    const node = world.sim.addNode({ provisionState: 'available', lastError: echo }).uuid;
    world.sim.failNextDeploy(node, echo);
    const run = world.engine.deploy(withSecrets(1, node), secrets);
    const result = await run.done;
    expect(result.status).toBe('failed');
    // Ironic's own words stay: only the secrets go.
    expect(JSON.stringify(result.error)).toContain('agent said: admin_pass=***');
    const record = recordOf(world.db, run.id);
    expect(record).toContain('agent said: admin_pass=***');
    expectClean(record, [PASSWORD, TOKEN, FILE, USER_DATA]);
    expectClean(JSON.stringify(result), [PASSWORD, TOKEN, FILE, USER_DATA]);
    expect(lines.join('')).toContain('run finished');
    expectClean(lines.join(''), [PASSWORD, TOKEN, FILE, USER_DATA]);
  });

  it('deploy: the config drive image it sent (gzip user data) is scrubbed when Ironic echoes it', async () => {
    world = await makeWorld({ deployMs: 400 });
    const node = world.sim.addNode({ provisionState: 'available' }).uuid;
    const userData = gzipSync(Buffer.from('#cloud-config\npassword: binary-Echo\n'));
    const run = world.engine.deploy(
      {
        ...deployInput(2, node),
        configDrivePlan: { required: true, hasAdminPassword: false, hasUserData: true, injectedFiles: 0 },
      },
      { userData },
    );
    // Once the image reached Ironic, Ironic's deploy ends quoting it whole.
    let image: unknown;
    for (let i = 0; i < 200 && typeof image !== 'string'; i++) {
      await new Promise((r) => setTimeout(r, 10));
      image = world.sim.node(node)?.instance_info['configdrive'];
    }
    expect(typeof image).toBe('string');
    world.sim.failNextDeploy(node, `could not write config drive ${String(image)}`);
    const result = await run.done;
    expect(result.status).toBe('failed');
    const record = recordOf(world.db, run.id);
    expect(record).toContain('could not write config drive ***');
    expect(record).not.toContain(String(image));
    expect(record).not.toContain(userData.toString('base64'));
    expect(JSON.stringify(result)).not.toContain(String(image));
  });

  it("a teardown's record is scrubbed of the client's token (a run with no secret of its own)", async () => {
    world = await makeWorld();
    await world.engine.close();
    await world.reopen({
      ironic: { url: world.sim.url, auth: { type: 'token', token: TOKEN }, retryIntervalMs: 10 },
    });
    const node = world.sim.addNode({
      provisionState: 'active',
      powerState: 'power on',
      instanceUuid: INSTANCE(3),
      lastError: `rejected X-Auth-Token ${TOKEN}`,
    }).uuid;
    const run = world.engine.destroy({ instance: INSTANCE(3), node, vifs: [] });
    const result = await run.done;
    expect(result.status, JSON.stringify(result.error)).toBe('succeeded');
    const record = recordOf(world.db, run.id);
    expect(record).toContain('rejected X-Auth-Token ***');
    expect(record).not.toContain(TOKEN);
  });

  it('refuses an input holding the value of a secret, naming the field and never the value', async () => {
    world = await makeWorld();
    const node = world.sim.addNode({ provisionState: 'available' }).uuid;
    let caught: unknown;
    try {
      world.engine.deploy({ ...withSecrets(4, node), hostname: `web-${PASSWORD}` }, secrets);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EngineError);
    expect((caught as EngineError).code).toBe('ENGINE_INVALID_INPUT');
    expect((caught as EngineError).message).toContain('hostname');
    expect((caught as EngineError).message).not.toContain(PASSWORD);
    expect(readFileSync(world.db).includes(Buffer.from(PASSWORD))).toBe(false);
  });

  it("a run's log lines are scrubbed, an Error's message and stack included", async () => {
    const lines: string[] = [];
    world = await makeWorld({ deployMs: 40 }, { logger: createLogger('warn', sinkOf(lines)) });
    const node = world.sim.addNode({ provisionState: 'available' }).uuid;
    const run = world.engine.deploy(withSecrets(5, node), secrets);
    // An embedder's listener that throws with a secret in its message: the engine logs it.
    run.subscribe(() => {
      throw new Error(`listener saw ${PASSWORD}`);
    });
    expect((await run.done).status).toBe('succeeded');
    const out = lines.join('');
    expect(out).toContain('a run listener threw');
    expect(out).toContain('listener saw ***');
    expect(out).not.toContain(PASSWORD);
  });
});
