// The effect implementations the machines name, one small function each, against IronicApi.
// Each is idempotent against Ironic, because a resumed run re-runs an effect that was started
// and never finished: a VIF already detached, a node already cleaning, instance_info already
// gone all count as done.
import { exactConfigDrive } from '../ironic/configdrive.js';
import { buildDeployPatch } from '../ironic/deploy-patch.js';
import { isIronicError } from '../ironic/errors.js';
import { buildNetworkMetadata } from '../ironic/network-metadata.js';
import { PowerState, ProvisionState } from '../ironic/states.js';
import type {
  CallOptions,
  ConfigDrive,
  Json,
  JsonObject,
  NetworkData,
  Node,
  NodeField,
} from '../ironic/types.js';
import { NODE_FIELDS } from '../ironic/types.js';
import type { EffectContext, EffectImpl } from './effect-context.js';
import { EffectError, toEffectErrorJson } from './effect-error.js';
import type {
  AddInstanceInfoInput,
  AddInstanceInfoOutput,
  CollectNetworkMetadataInput,
  ConsoleView,
  EffectName,
  EffectSignatures,
  FilteringInput,
  FilteringOutput,
  GetNodeInput,
  LookupNodeInput,
  NodeInput,
  ObserveNodeInput,
  PlugVifsOutput,
  RemoveInstanceInfoOutput,
  RequestActiveInput,
  RequestActiveOutput,
  RequestDeletedOutput,
  RequestRebuildInput,
  RequestRebuildOutput,
  SetConsoleModeInput,
  SetConsoleModeOutput,
  SetPowerStateInput,
  SetPowerStateOutput,
  SleepInput,
  SleepOutput,
  UnplugVifsOutput,
  ValidateNodeOutput,
  VifsInput,
} from './effect-types.js';
import type { NodeView } from './node-view.js';
import { NODE_OBSERVED, toNodeView } from './node-view.js';
import { refusedInState } from './refused-state.js';

/** States a node reaches after `deleted` was accepted: asking again changes nothing. */
const PAST_DELETED: readonly string[] = [
  ProvisionState.DELETING,
  ProvisionState.CLEANING,
  ProvisionState.CLEANWAIT,
  ProvisionState.CLEANFAIL,
  ProvisionState.AVAILABLE,
];
/** States a node is in once `active` (or `rebuild`) was accepted. */
const PAST_ACTIVE_REQUEST: readonly string[] = [
  ProvisionState.DEPLOYING,
  ProvisionState.DEPLOYWAIT,
  ProvisionState.ACTIVE,
];
const PAST_REBUILD_REQUEST: readonly string[] = [ProvisionState.DEPLOYING, ProvisionState.DEPLOYWAIT];

/**
 * The seed's fields, and when the provision state last changed: what a resumed rebuild judges
 * its earlier request by. (Ironic refuses `updated_at` in `fields=`; see `stamps`.)
 */
const READ_FIELDS: readonly NodeField[] = [...NODE_FIELDS, 'provision_updated_at'];

/**
 * Seed: _validate_instance_and_node. With `stamps`, the whole node is read (Ironic will not
 * select `updated_at`), so that a reboot has the baseline it is judged by after a restart.
 */
export async function lookupNode(input: LookupNodeInput, ctx: EffectContext): Promise<NodeView> {
  return toNodeView(
    await ctx.ironic.getNodeByInstance(
      input.instance,
      input.stamps === true ? { signal: ctx.signal } : { fields: READ_FIELDS, signal: ctx.signal },
    ),
  );
}

/**
 * The seed's node fields only (seed: _get_node): the deploy patch needs `properties`, and the
 * node goes into the log as the next effect's input, so driver_info never should.
 */
export async function getNode(input: GetNodeInput, ctx: EffectContext): Promise<Node> {
  return ctx.ironic.getNode(input.node, { fields: READ_FIELDS, signal: ctx.signal });
}

/**
 * Watches the node for as long as the machine stays in the waiting state: every watcher tick
 * becomes one `node.observed` event. Leaving the state stops this effect (its signal aborts the
 * pending observation); a failed observation (404, retries spent) ends it with that error.
 */
export async function observeNode(input: ObserveNodeInput, ctx: EffectContext): Promise<never> {
  for (;;) {
    const node = toNodeView(await ctx.observeNode(input.node));
    await ctx.emit({ type: NODE_OBSERVED, node, at: new Date().toISOString() });
  }
}

/** Seed: _unplug_vifs. Ironic answers 400 for a VIF that is not attached: already done. */
export async function unplugVifs(input: VifsInput, ctx: EffectContext): Promise<UnplugVifsOutput> {
  const out: UnplugVifsOutput = { detached: [], notAttached: [] };
  if (mustConfirm(ctx)) await readHolder(ctx, input.node);
  for (const vif of input.vifs) {
    try {
      await ctx.ironic.detachVif(input.node, vif, acting(ctx, input.node));
      out.detached.push(vif);
    } catch (err) {
      if (!isIronicError(err, 'IRONIC_BAD_REQUEST')) throw err;
      out.notAttached.push(vif);
    }
  }
  return out;
}

/**
 * Seed: _plug_vifs. No retry on conflict: a 409 that is not a held lock means the VIF is
 * already attached (fine); a 400 means Ironic cannot attach it (no free port, bad VIF).
 */
export async function plugVifs(input: VifsInput, ctx: EffectContext): Promise<PlugVifsOutput> {
  const out: PlugVifsOutput = { attached: [], alreadyAttached: [] };
  if (mustConfirm(ctx)) await readHolder(ctx, input.node);
  for (const vif of input.vifs) {
    try {
      await ctx.ironic.attachVif(input.node, vif, { ...acting(ctx, input.node), retryOnConflict: false });
      out.attached.push(vif);
    } catch (err) {
      if (isIronicError(err, 'IRONIC_CONFLICT')) {
        out.alreadyAttached.push(vif);
        continue;
      }
      if (isIronicError(err, 'IRONIC_BAD_REQUEST')) {
        throw new EffectError(
          'VIF_ATTACH_FAILED',
          `cannot attach VIF ${vif} to node ${input.node}: ${err.message}`,
          {
            node: input.node,
            status: err.status,
            faultstring: err.faultstring,
            cause: err,
          },
        );
      }
      throw err;
    }
  }
  return out;
}

export async function startFiltering(input: FilteringInput, ctx: EffectContext): Promise<FilteringOutput> {
  try {
    await ctx.hooks.setupFiltering({
      instance: input.instance,
      node: input.node,
      vifs: input.vifs,
      signal: ctx.signal,
    });
  } catch (err) {
    throw hookFailure('setupFiltering', input.node, err);
  }
  return { done: true };
}

export async function stopFiltering(input: FilteringInput, ctx: EffectContext): Promise<FilteringOutput> {
  try {
    await ctx.hooks.teardownFiltering({
      instance: input.instance,
      node: input.node,
      vifs: input.vifs,
      signal: ctx.signal,
    });
  } catch (err) {
    throw hookFailure('teardownFiltering', input.node, err);
  }
  return { done: true };
}

function hookFailure(hook: string, node: string, err: unknown): EffectError {
  return new EffectError('FILTERING_HOOK_FAILED', `${hook} hook failed: ${toEffectErrorJson(err).message}`, {
    node,
    cause: err,
  });
}

/**
 * Seed: _add_instance_info_to_node. No retry on conflict, so a node already taken by another
 * instance (Nova bug 1341420) fails the deploy at once. A rebuild keeps the association the
 * node already has: Ironic does not let instance_uuid be set again on an associated node.
 */
export async function addInstanceInfo(
  input: AddInstanceInfoInput,
  ctx: EffectContext,
): Promise<AddInstanceInfoOutput> {
  const patch = buildDeployPatch({
    node: input.node,
    instance: input.instance,
    image: input.image,
    flavor: input.flavor,
    ...(input.preserveEphemeral === undefined ? {} : { preserveEphemeral: input.preserveEphemeral }),
    ...(input.hostname === undefined ? {} : { hostname: input.hostname }),
  }).filter((op) => !(op.path === '/instance_uuid' && input.node.instance_uuid === input.instance));
  // Free or already ours: a node another instance took while the run was down is not touched.
  if (mustConfirm(ctx)) await readHolder(ctx, input.node.uuid, 'oursOrNone');
  await ctx.ironic.updateNode(input.node.uuid, patch, {
    ...acting(ctx, input.node.uuid, 'oursOrNone'),
    retryOnConflict: false,
  });
  return { paths: patch.map((op) => op.path) };
}

export async function validateNode(input: NodeInput, ctx: EffectContext): Promise<ValidateNodeOutput> {
  const result = await ctx.ironic.validateNode(input.node, { signal: ctx.signal });
  const check = (name: string) => {
    const entry = result[name];
    return entry === undefined
      ? { result: null, reason: `interface "${name}" not reported by Ironic` }
      : { result: entry.result, reason: entry.reason ?? null };
  };
  return { deploy: check('deploy'), power: check('power') };
}

/** Seed: _get_network_metadata. Ports and portgroups say which NIC or bond each VIF landed on. */
export async function collectNetworkMetadata(
  input: CollectNetworkMetadataInput,
  ctx: EffectContext,
): Promise<Json> {
  const [ports, portgroups] = await Promise.all([
    ctx.ironic.listPorts(input.node, { signal: ctx.signal }),
    ctx.ironic.listPortgroups(input.node, { signal: ctx.signal }),
  ]);
  return buildNetworkMetadata({ vifs: input.vifs, ports, portgroups }) as unknown as Json;
}

/**
 * Seed: spawn's config drive and set_provision_state(active). The config drive holds the
 * admin password and user data, so it is built here, in memory, from the run's secrets and
 * sent at once: it never becomes an input, output or event.
 */
export async function requestActive(
  input: RequestActiveInput,
  ctx: EffectContext,
): Promise<RequestActiveOutput> {
  const plan = input.configDrivePlan;
  const took = (node: Node): RequestActiveOutput | null =>
    isIn(node, PAST_ACTIVE_REQUEST) ? { configDriveSent: plan.required, alreadyRequested: true } : null;
  // Checked before the secrets: a deploy accepted before a restart needs them no more.
  if (mustConfirm(ctx)) {
    const done = took(await readHolder(ctx, input.node));
    if (done !== null) return done;
  }
  // Ironic's JSON form when it carries the user data exactly (text), an ISO image otherwise.
  let configdrive: ConfigDrive | string | undefined;
  if (plan.required) {
    const missing: string[] = [];
    const { secrets } = ctx;
    if (plan.hasAdminPassword && secrets.adminPassword === undefined) missing.push('admin password');
    if (plan.hasUserData && secrets.userData === undefined) missing.push('user data');
    if (plan.injectedFiles > 0 && (secrets.injectedFiles?.length ?? 0) < plan.injectedFiles)
      missing.push('injected files');
    if (missing.length > 0) {
      throw new EffectError(
        'SECRETS_UNAVAILABLE',
        `the config drive needs the run's ${missing.join(', ')}, which are no longer in memory (engine restarted?); submit the deploy again with them`,
        { node: input.node },
      );
    }
    try {
      configdrive = exactConfigDrive({
        instance: input.instance,
        ...(input.hostname === undefined ? {} : { hostname: input.hostname }),
        ...(plan.metadata === undefined ? {} : { metadata: plan.metadata }),
        ...(plan.hasAdminPassword && secrets.adminPassword !== undefined
          ? { adminPassword: secrets.adminPassword }
          : {}),
        ...(plan.hasUserData && secrets.userData !== undefined ? { userData: secrets.userData } : {}),
        ...(plan.injectedFiles > 0 && secrets.injectedFiles !== undefined
          ? { injectedFiles: secrets.injectedFiles }
          : {}),
        ...(input.networkData === undefined
          ? {}
          : { networkData: input.networkData as unknown as NetworkData }),
      });
    } catch (err) {
      // The builder's message names a field, never a secret's value.
      throw new EffectError(
        'CONFIG_DRIVE_FAILED',
        `failed to build config drive: ${toEffectErrorJson(err).message}`,
        {
          node: input.node,
        },
      );
    }
  }
  try {
    return await sendNotTwice(
      ctx,
      input.node,
      (opts) =>
        ctx.ironic.setProvisionState(input.node, 'active', {
          ...opts,
          ...(configdrive === undefined ? {} : { configdrive }),
        }),
      { configDriveSent: configdrive !== undefined, alreadyRequested: false },
      took,
    );
  } catch (err) {
    const state = refusedInState(toEffectErrorJson(err));
    if (state !== null && PAST_ACTIVE_REQUEST.includes(state)) {
      return { configDriveSent: configdrive !== undefined, alreadyRequested: true };
    }
    throw err;
  }
}

/** What an acting effect reads of the node before it acts again. */
const HOLDER_FIELDS: readonly NodeField[] = [
  'uuid',
  'instance_uuid',
  'provision_state',
  'target_provision_state',
  'power_state',
  'target_power_state',
  'provision_updated_at',
  'last_error',
];

/**
 * After a restart the run's earlier requests may have been taken, finished, and the node torn
 * down and given to another instance while nobody watched: an effect of a resumed run reads the
 * node before it acts. A live run has just read it (lookup) and acts only on that.
 */
function mustConfirm(ctx: EffectContext): boolean {
  return ctx.rerun === true || ctx.resumed === true;
}

/**
 * Reads the node; fails with INSTANCE_CHANGED when it no longer holds the run's instance, so
 * nothing is done to another instance's node. `oursOrNone` also accepts a free node (a deploy
 * that is about to associate it).
 */
async function readHolder(
  ctx: EffectContext,
  node: string,
  holding: 'ours' | 'oursOrNone' = 'ours',
  whole = false,
): Promise<Node> {
  // `whole`: the full body, for `updated_at`, which Ironic does not let `fields=` select.
  const found = await ctx.ironic.getNode(
    node,
    whole ? { signal: ctx.signal } : { signal: ctx.signal, fields: HOLDER_FIELDS },
  );
  const instance = ctx.instance ?? null;
  const holder = found.instance_uuid ?? null;
  if (instance === null || holder === instance || (holding === 'oursOrNone' && holder === null)) return found;
  throw instanceChanged(node, holder, instance);
}

function instanceChanged(node: string, holder: string | null, instance: string | null): EffectError {
  return new EffectError(
    'INSTANCE_CHANGED',
    holder === null
      ? `node ${node} no longer holds instance ${String(instance)} (it holds no instance); not acting on it`
      : `node ${node} now holds instance ${holder}, not ${String(instance)}; not acting on it`,
    { node },
  );
}

/** Call options for a request that acts on the node: a resend first confirms the instance. */
function acting(ctx: EffectContext, node: string, holding: 'ours' | 'oursOrNone' = 'ours'): CallOptions {
  return {
    signal: ctx.signal,
    beforeResend: async () => {
      await readHolder(ctx, node, holding);
    },
  };
}

function isIn(node: Node, states: readonly string[]): boolean {
  return node.provision_state !== null && states.includes(node.provision_state);
}

/** Thrown by a resend check that found Ironic had already taken the request. */
class AlreadyTaken<T> extends Error {
  constructor(readonly result: T) {
    super('already taken');
  }
}

/**
 * Sends a request Ironic must not get twice (a provision or power change). Once an answer was
 * lost, every resend is preceded by a read of the node (a 409 or 503 alone says Ironic did not
 * act, and the request goes again as it is): when `took` finds
 * Ironic already acted, that is the result and nothing is sent again; when the node holds
 * another instance, INSTANCE_CHANGED.
 */
async function sendNotTwice<T>(
  ctx: EffectContext,
  node: string,
  send: (opts: CallOptions) => Promise<unknown>,
  sent: T,
  took: (node: Node) => T | null,
  whole = false,
): Promise<T> {
  try {
    await send({
      signal: ctx.signal,
      beforeResend: async (err) => {
        const found = await readHolder(ctx, node, 'ours', whole);
        const done = took(found);
        ctx.note(
          'info',
          done === null
            ? `before sending again (${toEffectErrorJson(err).code}): node ${node} shows no sign of the request (provision "${found.provision_state ?? 'null'}", power "${found.power_state ?? 'null'}"); sending it again`
            : `before sending again (${toEffectErrorJson(err).code}): node ${node} shows Ironic took the request (provision "${found.provision_state ?? 'null'}", power "${found.power_state ?? 'null'}", target power "${found.target_power_state ?? 'null'}"); not sending it again`,
        );
        if (done !== null) throw new AlreadyTaken(done);
      },
    });
    return sent;
  } catch (err) {
    if (err instanceof AlreadyTaken) return err.result as T;
    throw err;
  }
}

/** Seed: _unprovision. A refusal because the node is already past `deleted` is success. */
export async function requestDeleted(input: NodeInput, ctx: EffectContext): Promise<RequestDeletedOutput> {
  const took = (node: Node): RequestDeletedOutput | null =>
    isIn(node, PAST_DELETED) ? { alreadyUnprovisioning: true, state: node.provision_state } : null;
  if (mustConfirm(ctx)) {
    // A node that holds no instance but is deleting, cleaning or available is this teardown's own
    // unprovisioning, taken before the restart (Ironic clears instance_uuid as deleting ends):
    // nothing to send, and the wait goes on as asked. Anything else that is not ours is left alone.
    const node = await readHolder(ctx, input.node, 'oursOrNone');
    const done = took(node);
    if (done !== null) return done;
    const instance = ctx.instance ?? null;
    if (instance !== null && (node.instance_uuid ?? null) === null)
      throw instanceChanged(input.node, null, instance);
  }
  try {
    return await sendNotTwice(
      ctx,
      input.node,
      (opts) => ctx.ironic.setProvisionState(input.node, 'deleted', opts),
      { alreadyUnprovisioning: false, state: null },
      took,
    );
  } catch (err) {
    const state = refusedInState(toEffectErrorJson(err));
    if (state !== null && PAST_DELETED.includes(state)) return { alreadyUnprovisioning: true, state };
    throw err;
  }
}

/** Seed: _remove_instance_info_from_node. A 400 (e.g. nothing left to remove) is reported, not raised. */
export async function removeInstanceInfo(
  input: NodeInput,
  ctx: EffectContext,
): Promise<RemoveInstanceInfoOutput> {
  if (mustConfirm(ctx)) await readHolder(ctx, input.node);
  try {
    await ctx.ironic.updateNode(
      input.node,
      [
        { op: 'remove', path: '/instance_info' },
        { op: 'remove', path: '/instance_uuid' },
      ],
      acting(ctx, input.node),
    );
    return { removed: true, reason: null };
  } catch (err) {
    if (!isIronicError(err, 'IRONIC_BAD_REQUEST')) throw err;
    return { removed: false, reason: err.faultstring ?? err.message };
  }
}

/**
 * Seed: rebuild's set_provision_state(rebuild). A rebuild ends where it began (`active`), so
 * whether Ironic took an earlier request is told by `provision_updated_at` having moved since
 * the node was read before it (`since`): the disk is never imaged twice.
 */
export async function requestRebuild(
  input: RequestRebuildInput,
  ctx: EffectContext,
): Promise<RequestRebuildOutput> {
  const took = (node: Node): RequestRebuildOutput | null => {
    if (isIn(node, PAST_REBUILD_REQUEST)) return { alreadyRequested: true };
    if (input.since === undefined) throw outcomeUnknown(input.node, 'rebuild', 'provision_updated_at');
    return (node.provision_updated_at ?? null) !== input.since ? { alreadyRequested: true } : null;
  };
  if (mustConfirm(ctx)) {
    const done = took(await readHolder(ctx, input.node));
    if (done !== null) return done;
  }
  try {
    return await sendNotTwice(
      ctx,
      input.node,
      (opts) => ctx.ironic.setProvisionState(input.node, 'rebuild', opts),
      { alreadyRequested: false },
      took,
    );
  } catch (err) {
    const state = refusedInState(toEffectErrorJson(err));
    if (state !== null && PAST_REBUILD_REQUEST.includes(state)) return { alreadyRequested: true };
    throw err;
  }
}

/** An effect of a run recorded before baselines were kept cannot tell what Ironic did. */
function outcomeUnknown(node: string, what: string, field: string): EffectError {
  return new EffectError(
    'OUTCOME_UNKNOWN',
    `cannot tell whether Ironic already took the ${what} of node ${node} (the run recorded no ${field} before it); not sending it again: check the node and repeat the command if needed`,
    { node },
  );
}

/**
 * Seed: power_on / power_off / reboot. Power on and off are done when the node is in the
 * target state or a change is under way; a reboot ends where it began, so it counts as taken
 * when a change is under way or the node was saved since it was read before (`since`).
 */
export async function setPowerState(
  input: SetPowerStateInput,
  ctx: EffectContext,
): Promise<SetPowerStateOutput> {
  const result: SetPowerStateOutput = { target: input.target, soft: input.soft };
  const took = (node: Node): SetPowerStateOutput | null => {
    if (node.target_power_state !== null && node.target_power_state !== undefined)
      return { ...result, alreadyRequested: true };
    if (input.target !== 'reboot') {
      const wanted = input.target === 'on' ? PowerState.POWER_ON : PowerState.POWER_OFF;
      return node.power_state === wanted ? { ...result, alreadyRequested: true } : null;
    }
    if (input.since === undefined) throw outcomeUnknown(input.node, 'reboot', 'updated_at');
    return (node.updated_at ?? null) !== input.since ? { ...result, alreadyRequested: true } : null;
  };
  const whole = input.target === 'reboot';
  if (mustConfirm(ctx)) {
    const done = took(await readHolder(ctx, input.node, 'ours', whole));
    if (done !== null) return done;
  }
  return sendNotTwice(
    ctx,
    input.node,
    (opts) =>
      ctx.ironic.setPowerState(input.node, input.target, {
        ...opts,
        soft: input.soft,
        ...(input.timeoutSeconds === undefined ? {} : { timeoutSeconds: input.timeoutSeconds }),
      }),
    result,
    took,
    whole,
  );
}

export async function getConsole(input: NodeInput, ctx: EffectContext): Promise<ConsoleView> {
  const info = await ctx.ironic.getConsole(input.node, { signal: ctx.signal });
  return {
    enabled: info.console_enabled,
    type: info.console_info?.type ?? null,
    url: info.console_info?.url ?? null,
  };
}

export async function setConsoleMode(
  input: SetConsoleModeInput,
  ctx: EffectContext,
): Promise<SetConsoleModeOutput> {
  // Toggling the console resets the session of whoever holds the node: after a restart, ours only.
  if (mustConfirm(ctx)) await readHolder(ctx, input.node);
  await ctx.ironic.setConsoleMode(input.node, input.enabled, acting(ctx, input.node));
  return { enabled: input.enabled };
}

export async function sleep(input: SleepInput, ctx: EffectContext): Promise<SleepOutput> {
  await ctx.sleep(input.ms);
  return { sleptMs: input.ms };
}

/** Every effect with its own input and output types; the compiler checks none is missing. */
export const effectImplementations: {
  [K in EffectName]: (
    input: EffectSignatures[K]['input'],
    ctx: EffectContext,
  ) => Promise<EffectSignatures[K]['output']>;
} = {
  lookupNode,
  getNode,
  observeNode,
  unplugVifs,
  plugVifs,
  startFiltering,
  stopFiltering,
  addInstanceInfo,
  validateNode,
  collectNetworkMetadata,
  requestActive,
  requestDeleted,
  removeInstanceInfo,
  requestRebuild,
  setPowerState,
  getConsole,
  setConsoleMode,
  sleep,
};

function erase<I, O>(impl: (input: I, ctx: EffectContext) => Promise<O>): EffectImpl {
  return async (input: JsonObject, ctx: EffectContext) =>
    (await impl(input as unknown as I, ctx)) as unknown as Json;
}

/** What the engine calls: `effects[src](input, ctx)` for each `xstate.spawnChild`. */
export const effects: Record<string, EffectImpl> = Object.fromEntries(
  Object.entries(effectImplementations).map(([name, impl]) => [
    name,
    erase(impl as (input: unknown, ctx: EffectContext) => Promise<unknown>),
  ]),
);
