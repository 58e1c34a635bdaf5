import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import {
  IronicBadRequestError,
  IronicConflictError,
  IronicNodeLockedError,
  IronicNotFoundError,
} from '../../src/ironic/errors.js';
import { NODE_FIELDS } from '../../src/ironic/types.js';
import type { Node } from '../../src/ironic/types.js';
import { effectActors } from '../../src/machines/actors.js';
import type { EffectContext } from '../../src/machines/effect-context.js';
import { toEffectErrorJson } from '../../src/machines/effect-error.js';
import type { NodeObservedEvent } from '../../src/machines/node-view.js';
import { teardownMachine } from '../../src/machines/teardown.js';
import {
  addInstanceInfo,
  effects,
  getConsole,
  getNode,
  lookupNode,
  observeNode,
  plugVifs,
  removeInstanceInfo,
  requestActive,
  requestDeleted,
  requestRebuild,
  setConsoleMode,
  setPowerState,
  sleep,
  startFiltering,
  stopFiltering,
  unplugVifs,
  validateNode,
} from '../../src/machines/effects.js';
import { FLAVOR, FULL_NODE, IMAGE, INSTANCE, NODE, OTHER_INSTANCE } from './fixtures.js';
import { FakeIronic, fakeContext } from './fake-ironic.js';

const refused = (state: string) =>
  new IronicBadRequestError('PUT -> 400', {
    status: 400,
    faultstring: `The requested action "deleted" can not be performed on node "${NODE}" while it is in state "${state}".`,
  });

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return toEffectErrorJson(err).code;
  }
  return 'no error';
}

describe('effects of a resumed run on a node that now holds another instance', () => {
  // Every effect that changes something on the node: after a restart it reads the node first and,
  // finding another instance there, fails INSTANCE_CHANGED having sent nothing but that read.
  const acting: Array<[string, (ctx: EffectContext) => Promise<unknown>]> = [
    ['unplugVifs', (ctx) => unplugVifs({ node: NODE, vifs: ['vif-a'] }, ctx)],
    ['plugVifs', (ctx) => plugVifs({ node: NODE, vifs: ['vif-a'] }, ctx)],
    [
      'addInstanceInfo',
      (ctx) =>
        addInstanceInfo(
          { node: FULL_NODE as unknown as Node, instance: INSTANCE, image: IMAGE, flavor: FLAVOR },
          ctx,
        ),
    ],
    [
      'requestActive',
      (ctx) =>
        requestActive(
          {
            node: NODE,
            instance: INSTANCE,
            configDrivePlan: {
              required: false,
              hasAdminPassword: false,
              hasUserData: false,
              injectedFiles: 0,
            },
          },
          ctx,
        ),
    ],
    ['requestDeleted', (ctx) => requestDeleted({ node: NODE }, ctx)],
    ['removeInstanceInfo', (ctx) => removeInstanceInfo({ node: NODE }, ctx)],
    ['requestRebuild', (ctx) => requestRebuild({ node: NODE, since: null }, ctx)],
    ['setPowerState', (ctx) => setPowerState({ node: NODE, target: 'off', soft: false }, ctx)],
    ['setConsoleMode', (ctx) => setConsoleMode({ node: NODE, enabled: false }, ctx)],
  ];
  for (const [name, call] of acting) {
    it(`${name} sends nothing but a read`, async () => {
      const ironic = new FakeIronic();
      ironic.node = {
        ...ironic.node,
        instance_uuid: OTHER_INSTANCE,
        provision_state: 'active',
        power_state: 'power on',
      };
      const ctx = { ...fakeContext(ironic), resumed: true, instance: INSTANCE };
      expect(await codeOf(call(ctx))).toBe('INSTANCE_CHANGED');
      expect(ironic.calls.map((c) => c.method)).toEqual(['getNode']);
    });
  }
});

describe('effects', () => {
  it('leaves nothing for XState to run: the machines only declare stand-ins that refuse', async () => {
    const actor = createActor(teardownMachine, { input: { instance: INSTANCE, vifs: [] } });
    const done = new Promise<void>((resolve) => actor.subscribe({ complete: resolve }));
    actor.start();
    await done;
    expect(actor.getSnapshot().output?.error?.message).toMatch(/executed by the engine, never by XState/);
  });

  it('implements every effect a machine can invoke, and nothing else', () => {
    expect(Object.keys(effects).sort()).toEqual(Object.keys(effectActors).sort());
  });

  it('looks the node up by instance with the seed node fields (seed: _validate_instance_and_node)', async () => {
    const ironic = new FakeIronic();
    ironic.node = { ...ironic.node, provision_state: 'active', instance_uuid: INSTANCE };
    const view = await lookupNode({ instance: INSTANCE }, fakeContext(ironic));
    expect(ironic.calls[0]?.args[0]).toBe(INSTANCE);
    // The seed's fields, and when the provision state last changed (a resumed rebuild's baseline).
    expect((ironic.calls[0]?.args[1] as { fields: unknown }).fields).toEqual([
      ...NODE_FIELDS,
      'provision_updated_at',
    ]);
    expect(view).toMatchObject({ uuid: NODE, provision_state: 'active', instance_uuid: INSTANCE });
    expect(Object.keys(view)).not.toContain('properties');
  });

  it('reads the node with the seed fields only, so driver_info never reaches the log (seed: _get_node)', async () => {
    const ironic = new FakeIronic();
    await getNode({ node: NODE }, fakeContext(ironic));
    expect(ironic.calls[0]?.args[0]).toBe(NODE);
    // The seed's fields, and when the provision state last changed (a resumed rebuild's baseline).
    expect((ironic.calls[0]?.args[1] as { fields: unknown }).fields).toEqual([
      ...NODE_FIELDS,
      'provision_updated_at',
    ]);
  });

  it('counts a 400 "not attached" on detach as done and goes on with the next VIF (seed: _unplug_vifs)', async () => {
    const ironic = new FakeIronic();
    ironic.failWith('detachVif', ([, vif]) =>
      vif === 'vif-a' ? new IronicBadRequestError('not attached', { status: 400 }) : undefined,
    );
    const out = await unplugVifs({ node: NODE, vifs: ['vif-a', 'vif-b'] }, fakeContext(ironic));
    expect(out).toEqual({ detached: ['vif-b'], notAttached: ['vif-a'] });
    expect(ironic.calls.map((c) => c.args[1])).toEqual(['vif-a', 'vif-b']);
  });

  it('fails the detach when the node stays locked, so deleted is never requested (seed: _unplug_vifs)', async () => {
    const ironic = new FakeIronic();
    ironic.failWith('detachVif', () => new IronicNodeLockedError('locked', { status: 409 }));
    expect(await codeOf(unplugVifs({ node: NODE, vifs: ['vif-a'] }, fakeContext(ironic)))).toBe(
      'IRONIC_NODE_LOCKED',
    );
  });

  it('attaches without retry on conflict and treats 409 as already attached (seed: _plug_vifs)', async () => {
    const ironic = new FakeIronic();
    ironic.failWith('attachVif', ([, vif]) =>
      vif === 'vif-b' ? new IronicConflictError('already attached', { status: 409 }) : undefined,
    );
    const out = await plugVifs({ node: NODE, vifs: ['vif-a', 'vif-b'] }, fakeContext(ironic));
    expect(out).toEqual({ attached: ['vif-a'], alreadyAttached: ['vif-b'] });
    expect((ironic.calls[0]?.args[2] as { retryOnConflict: boolean }).retryOnConflict).toBe(false);
  });

  it('fails with VIF_ATTACH_FAILED on a 400 attach (seed: _plug_vifs)', async () => {
    const ironic = new FakeIronic();
    ironic.failWith(
      'attachVif',
      () => new IronicBadRequestError('no free port', { status: 400, faultstring: 'no free port' }),
    );
    const err = await plugVifs({ node: NODE, vifs: ['vif-a'] }, fakeContext(ironic)).catch((e: unknown) =>
      toEffectErrorJson(e),
    );
    expect(err).toMatchObject({
      code: 'VIF_ATTACH_FAILED',
      status: 400,
      faultstring: 'no free port',
      node: NODE,
    });
  });

  it('counts "deleted" refused while cleaning as already unprovisioning (seed: _unprovision)', async () => {
    const ironic = new FakeIronic();
    ironic.failWith('setProvisionState', () => refused('cleaning'));
    expect(await requestDeleted({ node: NODE }, fakeContext(ironic))).toEqual({
      alreadyUnprovisioning: true,
      state: 'cleaning',
    });
  });

  it('run again after a restart, does not repeat "deleted" once the node is already cleaning (Ironic would hold it with 409s)', async () => {
    const ironic = new FakeIronic();
    ironic.node = { ...ironic.node, provision_state: 'cleaning' };
    const out = await requestDeleted({ node: NODE }, { ...fakeContext(ironic), rerun: true });
    expect(out).toEqual({ alreadyUnprovisioning: true, state: 'cleaning' });
    expect(ironic.calls.map((c) => c.method)).toEqual(['getNode']);
  });

  it('run again after a restart, waits out its own unprovisioning that already cleared the instance (cleaning, no instance)', async () => {
    // Ironic took `deleted` before the kill and cleared instance_uuid at the end of deleting:
    // nobody holds the node, which is this teardown's own cleaning. Watching is safe; a
    // --wait-for-available teardown must not end before available.
    const ironic = new FakeIronic();
    ironic.node = { ...ironic.node, provision_state: 'cleaning', instance_uuid: null };
    const out = await requestDeleted(
      { node: NODE },
      { ...fakeContext(ironic), rerun: true, instance: INSTANCE },
    );
    expect(out).toEqual({ alreadyUnprovisioning: true, state: 'cleaning' });
    expect(ironic.calls.map((c) => c.method)).toEqual(['getNode']);
  });

  it('run again after a restart, acts on no node that holds no instance and is not being unprovisioned', async () => {
    const ironic = new FakeIronic();
    ironic.node = { ...ironic.node, provision_state: 'active', instance_uuid: null };
    const ctx = { ...fakeContext(ironic), rerun: true, instance: INSTANCE };
    expect(await codeOf(requestDeleted({ node: NODE }, ctx))).toBe('INSTANCE_CHANGED');
    expect(ironic.calls.map((c) => c.method)).toEqual(['getNode']);
  });

  it('run again after a restart, still asks for "deleted" when the first request never reached Ironic', async () => {
    const ironic = new FakeIronic();
    ironic.node = { ...ironic.node, provision_state: 'active' };
    const out = await requestDeleted({ node: NODE }, { ...fakeContext(ironic), rerun: true });
    expect(out).toEqual({ alreadyUnprovisioning: false, state: null });
    expect(ironic.calls.map((c) => c.method)).toEqual(['getNode', 'setProvisionState']);
  });

  it('run again after a restart, a deploy Ironic already took needs neither the secrets nor a second request (seed: spawn)', async () => {
    const ironic = new FakeIronic();
    ironic.node = { ...ironic.node, provision_state: 'deploying' };
    const out = await requestActive(
      {
        node: NODE,
        instance: INSTANCE,
        configDrivePlan: { required: true, hasAdminPassword: true, hasUserData: false, injectedFiles: 0 },
      },
      { ...fakeContext(ironic, { secrets: {} }), rerun: true },
    );
    expect(out).toEqual({ configDriveSent: true, alreadyRequested: true });
    expect(ironic.calls.map((c) => c.method)).toEqual(['getNode']);
  });

  it('fails "deleted" refused for any other reason (seed: _unprovision)', async () => {
    const ironic = new FakeIronic();
    ironic.failWith('setProvisionState', () => refused('manageable'));
    expect(await codeOf(requestDeleted({ node: NODE }, fakeContext(ironic)))).toBe('IRONIC_BAD_REQUEST');
    ironic.failWith(
      'setProvisionState',
      () => new IronicBadRequestError('node in maintenance', { status: 400, faultstring: 'maintenance' }),
    );
    expect(await codeOf(requestDeleted({ node: NODE }, fakeContext(ironic)))).toBe('IRONIC_BAD_REQUEST');
  });

  it('removes instance_info and instance_uuid in one PATCH, a 400 being a warning (seed: _remove_instance_info_from_node)', async () => {
    const ironic = new FakeIronic();
    expect(await removeInstanceInfo({ node: NODE }, fakeContext(ironic))).toEqual({
      removed: true,
      reason: null,
    });
    expect(ironic.calls).toHaveLength(1);
    expect(ironic.calls[0]?.args[1]).toEqual([
      { op: 'remove', path: '/instance_info' },
      { op: 'remove', path: '/instance_uuid' },
    ]);
    ironic.failWith(
      'updateNode',
      () => new IronicBadRequestError('x', { status: 400, faultstring: "can't remove non-existent object" }),
    );
    expect(await removeInstanceInfo({ node: NODE }, fakeContext(ironic))).toEqual({
      removed: false,
      reason: "can't remove non-existent object",
    });
    ironic.failWith('updateNode', () => new IronicNodeLockedError('locked', { status: 409 }));
    expect(await codeOf(removeInstanceInfo({ node: NODE }, fakeContext(ironic)))).toBe('IRONIC_NODE_LOCKED');
  });

  it('sends the deploy patch with the instance association and no retry on conflict (seed: _add_instance_info_to_node)', async () => {
    const ironic = new FakeIronic();
    const out = await addInstanceInfo(
      { node: FULL_NODE as unknown as Node, instance: INSTANCE, image: IMAGE, flavor: FLAVOR },
      fakeContext(ironic),
    );
    const patch = ironic.calls[0]?.args[1] as Array<{ path: string; value?: unknown }>;
    expect(patch.find((op) => op.path === '/instance_uuid')?.value).toBe(INSTANCE);
    expect(out.paths).toEqual(patch.map((op) => op.path));
    expect((ironic.calls[0]?.args[2] as { retryOnConflict: boolean }).retryOnConflict).toBe(false);
  });

  it('keeps the existing association when rebuilding (seed: rebuild)', async () => {
    const ironic = new FakeIronic();
    const node = {
      ...(FULL_NODE as unknown as Node),
      instance_uuid: INSTANCE,
      provision_state: 'active' as const,
    };
    await addInstanceInfo(
      { node, instance: INSTANCE, image: IMAGE, flavor: FLAVOR, preserveEphemeral: true },
      fakeContext(ironic),
    );
    const patch = ironic.calls[0]?.args[1] as Array<{ path: string }>;
    expect(patch.some((op) => op.path === '/instance_uuid')).toBe(false);
  });

  it('reports an interface Ironic did not validate as unknown (seed: spawn)', async () => {
    const ironic = new FakeIronic();
    ironic.validation = { deploy: { result: false, reason: 'no image' } };
    expect(await validateNode({ node: NODE }, fakeContext(ironic))).toEqual({
      deploy: { result: false, reason: 'no image' },
      power: { result: null, reason: 'interface "power" not reported by Ironic' },
    });
  });

  it('builds the config drive from the run secrets and sends it with active, never returning it (seed: spawn)', async () => {
    const ironic = new FakeIronic();
    const ctx = fakeContext(ironic, {
      secrets: { adminPassword: 's3cret-pw', userData: Buffer.from('#!/bin/sh\necho hi') },
    });
    const out = await requestActive(
      {
        node: NODE,
        instance: INSTANCE,
        hostname: 'web-1',
        configDrivePlan: { required: true, hasAdminPassword: true, hasUserData: true, injectedFiles: 0 },
      },
      ctx,
    );
    expect(out).toEqual({ configDriveSent: true, alreadyRequested: false });
    const [node, target, opts] = ironic.calls[0]?.args as [string, string, { configdrive: unknown }];
    expect([node, target]).toEqual([NODE, 'active']);
    expect(JSON.stringify(opts.configdrive)).toContain('s3cret-pw');
    expect(JSON.stringify(out)).not.toContain('s3cret-pw');
  });

  it('fails with SECRETS_UNAVAILABLE and sends nothing when the secrets were lost in a restart', async () => {
    const ironic = new FakeIronic();
    const err = await requestActive(
      {
        node: NODE,
        instance: INSTANCE,
        configDrivePlan: { required: true, hasAdminPassword: true, hasUserData: false, injectedFiles: 2 },
      },
      fakeContext(ironic, { secrets: {} }),
    ).catch((e: unknown) => toEffectErrorJson(e));
    expect(err).toMatchObject({ code: 'SECRETS_UNAVAILABLE' });
    expect((err as { message: string }).message).toMatch(/admin password, injected files/);
    expect(ironic.calls).toEqual([]);
  });

  it('sends no config drive when none is required, and accepts a node already deploying on resume', async () => {
    const ironic = new FakeIronic();
    const input = {
      node: NODE,
      instance: INSTANCE,
      configDrivePlan: { required: false, hasAdminPassword: false, hasUserData: false, injectedFiles: 0 },
    };
    await requestActive(input, fakeContext(ironic));
    expect((ironic.calls[0]?.args[2] as Record<string, unknown>)['configdrive']).toBeUndefined();
    ironic.failWith('setProvisionState', () => refused('wait call-back'));
    expect(await requestActive(input, fakeContext(ironic))).toEqual({
      configDriveSent: false,
      alreadyRequested: true,
    });
  });

  it('accepts a rebuild already under way and fails other refusals (seed: rebuild)', async () => {
    const ironic = new FakeIronic();
    ironic.failWith('setProvisionState', () => refused('deploying'));
    expect(await requestRebuild({ node: NODE }, fakeContext(ironic))).toEqual({ alreadyRequested: true });
    ironic.failWith('setProvisionState', () => new IronicNotFoundError('gone', { status: 404 }));
    expect(await codeOf(requestRebuild({ node: NODE }, fakeContext(ironic)))).toBe('IRONIC_NOT_FOUND');
  });

  it('passes soft and the timeout to Ironic (seed: power_off)', async () => {
    const ironic = new FakeIronic();
    await setPowerState({ node: NODE, target: 'off', soft: true, timeoutSeconds: 30 }, fakeContext(ironic));
    expect(ironic.calls[0]?.args.slice(0, 2)).toEqual([NODE, 'off']);
    expect(ironic.calls[0]?.args[2]).toMatchObject({ soft: true, timeoutSeconds: 30 });
  });

  it('runs the filtering hooks with the VIFs and names a hook failure FILTERING_HOOK_FAILED', async () => {
    const ironic = new FakeIronic();
    const ctx = fakeContext(ironic);
    await startFiltering({ instance: INSTANCE, node: NODE, vifs: ['vif-a'] }, ctx);
    await stopFiltering({ instance: INSTANCE, node: NODE, vifs: ['vif-a'] }, ctx);
    expect(ctx.hookCalls).toEqual(['setup:vif-a', 'teardown:vif-a']);
    const failing = fakeContext(ironic, {
      hooks: {
        setupFiltering: async () => undefined,
        teardownFiltering: async () => {
          throw new Error('iptables missing');
        },
      },
    });
    const err = await stopFiltering({ instance: INSTANCE, node: NODE, vifs: [] }, failing).catch(
      (e: unknown) => toEffectErrorJson(e),
    );
    expect(err).toMatchObject({
      code: 'FILTERING_HOOK_FAILED',
      message: expect.stringContaining('iptables missing'),
    });
  });

  it('reads the console, observes through the watcher and sleeps through the context', async () => {
    const ironic = new FakeIronic();
    const ctx = fakeContext(ironic, { observed: [{ ...ironic.node, provision_state: 'deleting' }] });
    expect(await getConsole({ node: NODE }, ctx)).toEqual({
      enabled: true,
      type: 'socat',
      url: 'tcp://192.0.2.10:8023',
    });
    expect(await sleep({ ms: 250 }, ctx)).toEqual({ sleptMs: 250 });
    expect(ctx.slept).toEqual([250]);
  });

  it('observeNode reports every watcher tick as node.observed until an observation fails', async () => {
    const ironic = new FakeIronic();
    const ticks: Node[] = [
      { ...ironic.node, provision_state: 'deleting' },
      { ...ironic.node, provision_state: 'cleaning' },
    ];
    const ctx: EffectContext & { emitted: NodeObservedEvent[] } = {
      ...fakeContext(ironic),
      observeNode: async () => {
        const next = ticks.shift();
        if (!next) throw new IronicNotFoundError('node gone', { status: 404 });
        return next;
      },
    };
    const err = await observeNode({ node: NODE }, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IronicNotFoundError);
    expect(ctx.emitted.map((e) => [e.type, e.node.provision_state])).toEqual([
      ['node.observed', 'deleting'],
      ['node.observed', 'cleaning'],
    ]);
  });

  it('the erased effects map keeps behaviour: input JSON in, output JSON out', async () => {
    const ironic = new FakeIronic();
    ironic.failWith('detachVif', () => new IronicBadRequestError('not attached', { status: 400 }));
    const impl = effects['unplugVifs'];
    expect(impl).toBeDefined();
    expect(await impl?.({ node: NODE, vifs: ['vif-a'] }, fakeContext(ironic))).toEqual({
      detached: [],
      notAttached: ['vif-a'],
    });
  });
});
