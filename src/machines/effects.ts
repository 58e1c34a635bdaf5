// The effect implementations the machines name, one small function each, against IronicApi.
// Each is idempotent against Ironic, because a resumed run re-runs an effect that was started
// and never finished: a VIF already detached, a node already cleaning, instance_info already
// gone all count as done.
import { exactConfigDrive } from '../ironic/configdrive.js';
import { buildDeployPatch } from '../ironic/deploy-patch.js';
import { isIronicError } from '../ironic/errors.js';
import { buildNetworkMetadata } from '../ironic/network-metadata.js';
import { ProvisionState } from '../ironic/states.js';
import type { ConfigDrive, Json, JsonObject, NetworkData, Node } from '../ironic/types.js';
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

export async function lookupNode(input: LookupNodeInput, ctx: EffectContext): Promise<NodeView> {
  return toNodeView(
    await ctx.ironic.getNodeByInstance(input.instance, { fields: NODE_FIELDS, signal: ctx.signal }),
  );
}

/**
 * The seed's node fields only (seed: _get_node): the deploy patch needs `properties`, and the
 * node goes into the log as the next effect's input, so driver_info never should.
 */
export async function getNode(input: GetNodeInput, ctx: EffectContext): Promise<Node> {
  return ctx.ironic.getNode(input.node, { fields: NODE_FIELDS, signal: ctx.signal });
}

/**
 * Watches the node for as long as the machine stays in the waiting state: every watcher tick
 * becomes one `node.observed` event. Leaving the state stops this effect (its signal aborts the
 * pending observation); a failed observation (404, retries spent) ends it with that error.
 */
export async function observeNode(input: ObserveNodeInput, ctx: EffectContext): Promise<never> {
  for (;;) {
    const node = toNodeView(await ctx.observeNode(input.node));
    await ctx.emit({ type: NODE_OBSERVED, node });
  }
}

/** Seed: _unplug_vifs. Ironic answers 400 for a VIF that is not attached: already done. */
export async function unplugVifs(input: VifsInput, ctx: EffectContext): Promise<UnplugVifsOutput> {
  const out: UnplugVifsOutput = { detached: [], notAttached: [] };
  for (const vif of input.vifs) {
    try {
      await ctx.ironic.detachVif(input.node, vif, { signal: ctx.signal });
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
  for (const vif of input.vifs) {
    try {
      await ctx.ironic.attachVif(input.node, vif, { signal: ctx.signal, retryOnConflict: false });
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
  await ctx.ironic.updateNode(input.node.uuid, patch, { signal: ctx.signal, retryOnConflict: false });
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
  // Checked before the secrets: a deploy accepted before a restart needs them no more.
  if ((await alreadyPast(ctx, input.node, PAST_ACTIVE_REQUEST)) !== null) {
    return { configDriveSent: plan.required, alreadyRequested: true };
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
    await ctx.ironic.setProvisionState(input.node, 'active', {
      signal: ctx.signal,
      ...(configdrive === undefined ? {} : { configdrive }),
    });
    return { configDriveSent: configdrive !== undefined, alreadyRequested: false };
  } catch (err) {
    const state = refusedInState(toEffectErrorJson(err));
    if (state !== null && PAST_ACTIVE_REQUEST.includes(state)) {
      return { configDriveSent: configdrive !== undefined, alreadyRequested: true };
    }
    throw err;
  }
}

/**
 * For an effect run again after a restart: the state the node is in when it is already past
 * what the effect asks for. The first attempt may have been accepted just before the crash;
 * Ironic then holds the node (deploying, deleting, cleaning) and would answer the repeated
 * request with 409 NodeLocked for as long as that lasts, instead of refusing it at once.
 */
async function alreadyPast(
  ctx: EffectContext,
  node: string,
  past: readonly string[],
): Promise<string | null> {
  if (ctx.rerun !== true) return null;
  const found = await ctx.ironic.getNode(node, { signal: ctx.signal, fields: ['uuid', 'provision_state'] });
  return found.provision_state !== null && past.includes(found.provision_state)
    ? found.provision_state
    : null;
}

/** Seed: _unprovision. A refusal because the node is already past `deleted` is success. */
export async function requestDeleted(input: NodeInput, ctx: EffectContext): Promise<RequestDeletedOutput> {
  const past = await alreadyPast(ctx, input.node, PAST_DELETED);
  if (past !== null) return { alreadyUnprovisioning: true, state: past };
  try {
    await ctx.ironic.setProvisionState(input.node, 'deleted', { signal: ctx.signal });
    return { alreadyUnprovisioning: false, state: null };
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
  try {
    await ctx.ironic.updateNode(
      input.node,
      [
        { op: 'remove', path: '/instance_info' },
        { op: 'remove', path: '/instance_uuid' },
      ],
      { signal: ctx.signal },
    );
    return { removed: true, reason: null };
  } catch (err) {
    if (!isIronicError(err, 'IRONIC_BAD_REQUEST')) throw err;
    return { removed: false, reason: err.faultstring ?? err.message };
  }
}

export async function requestRebuild(input: NodeInput, ctx: EffectContext): Promise<RequestRebuildOutput> {
  if ((await alreadyPast(ctx, input.node, PAST_REBUILD_REQUEST)) !== null) return { alreadyRequested: true };
  try {
    await ctx.ironic.setProvisionState(input.node, 'rebuild', { signal: ctx.signal });
    return { alreadyRequested: false };
  } catch (err) {
    const state = refusedInState(toEffectErrorJson(err));
    if (state !== null && PAST_REBUILD_REQUEST.includes(state)) return { alreadyRequested: true };
    throw err;
  }
}

export async function setPowerState(
  input: SetPowerStateInput,
  ctx: EffectContext,
): Promise<SetPowerStateOutput> {
  await ctx.ironic.setPowerState(input.node, input.target, {
    signal: ctx.signal,
    soft: input.soft,
    ...(input.timeoutSeconds === undefined ? {} : { timeoutSeconds: input.timeoutSeconds }),
  });
  return { target: input.target, soft: input.soft };
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
  await ctx.ironic.setConsoleMode(input.node, input.enabled, { signal: ctx.signal });
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
