import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { rebuildMachine } from '../../src/machines/rebuild.js';
import { FLAVOR, FULL_NODE, IMAGE, INSTANCE, NODE, fail, nodeView, observed, ok } from './fixtures.js';
import type { Script } from './script.js';
import { run } from './script.js';

const input = { instance: INSTANCE, image: IMAGE, flavor: FLAVOR, preserveEphemeral: true, timeoutS: 4 };

function script(over: Script = {}): Script {
  return {
    lookupNode: ok(nodeView()),
    getNode: ok({ ...FULL_NODE, provision_state: 'active', instance_uuid: INSTANCE }),
    addInstanceInfo: ok({ paths: ['/instance_info/image_source', '/instance_info/preserve_ephemeral'] }),
    requestRebuild: ok({ alreadyRequested: false }),
    observeNode: [observed('deploying'), observed('active')],
    ...over,
  };
}

describe('rebuild machine', () => {
  it('adds instance info preserving ephemeral, requests rebuild and waits for active (seed: rebuild)', () => {
    const r = run(rebuildMachine, input, script());
    expect(r.srcs).toEqual([
      'lookupNode',
      'getNode',
      'addInstanceInfo',
      'requestRebuild',
      'observeNode',
      'observeNode',
    ]);
    expect(r.trace[2]?.call.input).toMatchObject({ instance: INSTANCE, preserveEphemeral: true });
    expect(r.output.status).toBe('succeeded');
  });

  it('uses the given node without looking it up (seed: rebuild)', () => {
    const r = run(rebuildMachine, { ...input, node: NODE }, script());
    expect(r.srcs[0]).toBe('getNode');
  });

  it('fails with REBUILD_REQUEST_FAILED when Ironic refuses the rebuild (seed: rebuild)', () => {
    const r = run(
      rebuildMachine,
      input,
      script({ requestRebuild: fail('IRONIC_BAD_REQUEST', 400, 'node in maintenance') }),
    );
    expect(r.output.error).toMatchObject({ code: 'REBUILD_REQUEST_FAILED', cause: 'IRONIC_BAD_REQUEST' });
    expect(r.srcs).not.toContain('observeNode');
  });

  it('fails on deploy failed with last_error (seed: _wait_for_active)', () => {
    const r = run(
      rebuildMachine,
      input,
      script({ observeNode: observed('deploy failed', { last_error: 'boom' }) }),
    );
    expect(r.output.error).toMatchObject({ code: 'DEPLOY_FAILED' });
    expect(r.output.error?.message).toContain('boom');
  });

  it('honours an ABORT that came while the node was looked up, as the wait would begin (seed: _wait_for_active)', () => {
    let [snapshot] = initialTransition(rebuildMachine, input);
    expect(snapshot.value).toBe('lookup');
    [snapshot] = transition(rebuildMachine, snapshot, {
      type: 'ABORT',
      reason: 'instance is being destroyed',
    });
    const answers: Record<string, unknown> = {
      lookupNode: nodeView(),
      getNode: { ...FULL_NODE, provision_state: 'active', instance_uuid: INSTANCE },
      addInstanceInfo: { paths: ['/instance_info/image_source'] },
      requestRebuild: { alreadyRequested: false },
    };
    const srcs: string[] = [];
    for (let i = 0; i < 10 && snapshot.status !== 'done'; i++) {
      const child = Object.keys(snapshot.children)[0]!;
      srcs.push(child);
      [snapshot] = transition(rebuildMachine, snapshot, {
        type: `xstate.done.actor.${child}`,
        output: answers[child],
      } as never);
    }
    expect(srcs).toEqual(['lookupNode', 'getNode', 'addInstanceInfo', 'requestRebuild']);
    expect(snapshot.output).toMatchObject({ status: 'failed', error: { code: 'DEPLOY_ABORTED' } });
  });
});
