// Deploy (seed: spawn, _add_instance_info_to_node, _plug_vifs, _start_firewall,
// _generate_configdrive, _cleanup_deploy, _wait_for_active).
//
// Reading the node and associating it with the instance touch nothing that needs undoing: a
// failure there ends the run at once. Above all, when the association is refused because the
// node belongs to another instance, the VIF ids named in this deploy may be that instance's
// ports, so detaching them would cut a running server off its network. Every failure after
// the association and before Ironic accepts `active` runs the cleanup (detach every VIF, stop
// filtering) before `failed`. Once `active` is requested the node belongs to Ironic's deploy;
// a failure from there on is reported and left to a teardown.
import { assign, setup } from 'xstate';
import type { FlavorInfo, ImageInfo, Json, NetworkVif, Node } from '../ironic/types.js';
import { effectActors } from './actors.js';
import type { ConfigDrivePlan, PlugVifsOutput, ValidateNodeOutput } from './effect-types.js';
import type { BaseContext, LifecycleOutput } from './lifecycle-output.js';
import { doneOutput, errorOf, failureFrom, fromEffectError, outputOf } from './lifecycle-output.js';
import type { WaitActiveContext } from './wait-active.js';
import { timeoutOf } from './wait-budget.js';
import {
  enterWaitActive,
  noteAbortWhileBusy,
  waitActiveActions,
  waitActiveGuards,
  waitActiveState,
} from './wait-active.js';
import type { AbortEvent } from './wait-active.js';
import type { NodeObservedEvent } from './node-view.js';

export interface DeployInput {
  instance: string;
  /** The node the scheduler picked. Required: the seed refuses to guess. */
  node: string;
  vifs: NetworkVif[];
  image: ImageInfo;
  flavor: FlavorInfo;
  hostname?: string;
  /** Only flags: the secrets themselves reach the effect in memory (EffectContext.secrets). */
  configDrivePlan: ConfigDrivePlan;
  /** Seconds the wait for `active` may take; none by default (seed: _wait_for_active). */
  timeoutS?: number;
}

export interface DeployContext extends BaseContext, WaitActiveContext {
  vifs: NetworkVif[];
  image: ImageInfo;
  flavor: FlavorInfo;
  hostname: string | null;
  configDrivePlan: ConfigDrivePlan;
  nodeInfo: Node | null;
  networkData: Json | null;
  attachedVifs: string[];
  /** Ironic took the association (instance_uuid set): a failure from here leaves it in place. */
  associated: boolean;
}

/**
 * Failures after which the node holds no association of this deploy's: the instance went away
 * (torn down, or another took the node) or a teardown that aborted the deploy takes over.
 */
const LEAVES_NO_ASSOCIATION: readonly string[] = ['INSTANCE_GONE', 'INSTANCE_CHANGED', 'DEPLOY_ABORTED'];

function describeCheck(check: { result: boolean | null; reason: string | null }): string {
  return check.result === true ? 'ok' : `failed (${check.reason ?? 'no reason given'})`;
}

export const deployMachine = setup({
  types: {
    context: {} as DeployContext,
    input: {} as DeployInput,
    output: {} as LifecycleOutput,
    events: {} as AbortEvent | NodeObservedEvent,
  },
  actors: effectActors,
  guards: {
    ...waitActiveGuards,
    nodeMissing: ({ context }) => context.node === null,
    deployAndPowerValid: ({ event }) => {
      const out = doneOutput<ValidateNodeOutput>(event);
      return out.deploy.result === true && out.power.result === true;
    },
    configDriveRequired: ({ context }) => context.configDrivePlan.required,
  },
  actions: {
    ...waitActiveActions<DeployContext, AbortEvent | NodeObservedEvent>('deploying'),
    failNodeMissing: assign(({ context }) => ({
      error: {
        code: 'NODE_REQUIRED',
        message: `Ironic node uuid not supplied for instance ${context.instance}`,
      },
    })),
    recordNodeInfo: assign(({ event }) => ({ nodeInfo: doneOutput<Node>(event) })),
    failGetNode: assign(({ context, event }) => ({
      error: failureFrom(`cannot read node ${context.node ?? '?'}`, errorOf(event)),
    })),
    failAddInstanceInfo: assign(({ context, event }) => ({
      error: failureFrom(
        `failed to add deploy parameters on node ${context.node ?? '?'} for instance ${context.instance}`,
        errorOf(event),
      ),
    })),
    failValidationRequest: assign(({ context, event }) => ({
      error: failureFrom(`cannot validate node ${context.node ?? '?'}`, errorOf(event)),
    })),
    failValidation: assign(({ context, event }) => {
      const out = doneOutput<ValidateNodeOutput>(event);
      return {
        error: {
          code: 'VALIDATION_FAILED',
          message: `node ${context.node ?? '?'} failed to validate (deploy: ${describeCheck(out.deploy)}, power: ${describeCheck(out.power)})`,
          node: context.node,
        },
      };
    }),
    recordAttached: assign(({ event }) => {
      const out = doneOutput<PlugVifsOutput>(event);
      return { attachedVifs: [...out.attached, ...out.alreadyAttached] };
    }),
    failPrepare: assign(({ context, event }) => ({
      error: failureFrom(
        `error preparing deploy for instance ${context.instance} on node ${context.node ?? '?'}`,
        errorOf(event),
      ),
    })),
    recordNetworkData: assign(({ event }) => ({ networkData: doneOutput<Json>(event) })),
    failConfigDrive: assign(({ event }) => ({
      error: failureFrom('failed to build config drive', errorOf(event)),
    })),
    failRequestActive: assign(({ context, event }) => ({
      error: failureFrom(
        `failed to request Ironic to provision instance ${context.instance}`,
        errorOf(event),
      ),
    })),
    warnCleanup: assign(({ context, event }) => ({
      warnings: [
        ...context.warnings,
        `cleanup after failed deploy: ${errorOf(event).code}: ${errorOf(event).message}`,
      ],
    })),
    recordAssociated: assign({ associated: true }),
    // Seed: a failed spawn leaves the node associated; Nova then destroys the instance. Say so.
    adviseDestroy: assign(({ context }) =>
      context.associated && !LEAVES_NO_ASSOCIATION.includes(context.error?.code ?? '')
        ? {
            warnings: [
              ...context.warnings,
              `node ${context.node ?? '?'} still holds instance ${context.instance} after the failed deploy; release it with: ironledger destroy --instance ${context.instance}`,
            ],
          }
        : {},
    ),
    setError: assign(({ event }) => ({ error: fromEffectError(errorOf(event)) })),
  },
}).createMachine({
  id: 'deploy',
  context: ({ input }) => ({
    instance: input.instance,
    node: input.node ? input.node : null,
    warnings: [],
    error: null,
    vifs: input.vifs,
    image: input.image,
    flavor: input.flavor,
    hostname: input.hostname ?? null,
    configDrivePlan: input.configDrivePlan,
    nodeInfo: null,
    networkData: null,
    attachedVifs: [],
    associated: false,
    polls: 0,
    // Deploys take minutes to hours on real hardware; the seed waits for `active` without a limit.
    timeoutS: timeoutOf(input.timeoutS, null),
    waitStartedAt: null,
    lastState: null,
    abortReason: null,
  }),
  // An ABORT before the wait is noted and honoured as the wait would begin (enterWaitActive).
  on: noteAbortWhileBusy,
  initial: 'checkInput',
  states: {
    checkInput: {
      always: [
        // A missing node uuid means the caller handed us the wrong data; nothing was touched yet.
        { guard: 'nodeMissing', target: 'failed', actions: 'failNodeMissing' },
        { target: 'getNode' },
      ],
    },
    getNode: {
      invoke: {
        id: 'getNode',
        src: 'getNode',
        input: ({ context }) => ({ node: context.node ?? '' }),
        onDone: { target: 'addInstanceInfo', actions: 'recordNodeInfo' },
        onError: { target: 'failed', actions: 'failGetNode' },
      },
    },
    addInstanceInfo: {
      invoke: {
        id: 'addInstanceInfo',
        src: 'addInstanceInfo',
        input: ({ context }) => ({
          node: context.nodeInfo as Node,
          instance: context.instance,
          image: context.image,
          flavor: context.flavor,
          ...(context.hostname === null ? {} : { hostname: context.hostname }),
        }),
        onDone: { target: 'validate', actions: 'recordAssociated' },
        onError: { target: 'failed', actions: 'failAddInstanceInfo' },
      },
    },
    validate: {
      invoke: {
        id: 'validateNode',
        src: 'validateNode',
        input: ({ context }) => ({ node: context.node ?? '' }),
        onDone: [
          { guard: 'deployAndPowerValid', target: 'plugVifs' },
          { target: 'cleanup', actions: 'failValidation' },
        ],
        onError: { target: 'cleanup', actions: 'failValidationRequest' },
      },
    },
    plugVifs: {
      invoke: {
        id: 'plugVifs',
        src: 'plugVifs',
        input: ({ context }) => ({ node: context.node ?? '', vifs: context.vifs.map((v) => v.id) }),
        onDone: { target: 'startFiltering', actions: 'recordAttached' },
        onError: { target: 'cleanup', actions: 'failPrepare' },
      },
    },
    startFiltering: {
      invoke: {
        id: 'startFiltering',
        src: 'startFiltering',
        input: ({ context }) => ({
          instance: context.instance,
          node: context.node ?? '',
          vifs: context.vifs.map((v) => v.id),
        }),
        onDone: [{ guard: 'configDriveRequired', target: 'networkMetadata' }, { target: 'requestActive' }],
        onError: { target: 'cleanup', actions: 'failPrepare' },
      },
    },
    networkMetadata: {
      invoke: {
        id: 'collectNetworkMetadata',
        src: 'collectNetworkMetadata',
        input: ({ context }) => ({ node: context.node ?? '', vifs: context.vifs }),
        onDone: { target: 'requestActive', actions: 'recordNetworkData' },
        onError: { target: 'cleanup', actions: 'failConfigDrive' },
      },
    },
    requestActive: {
      // The effect builds the config drive in memory from the run's secrets and sends it with
      // the request: the drive never enters context, input, output or the log.
      invoke: {
        id: 'requestActive',
        src: 'requestActive',
        input: ({ context }) => ({
          node: context.node ?? '',
          instance: context.instance,
          ...(context.hostname === null ? {} : { hostname: context.hostname }),
          configDrivePlan: context.configDrivePlan,
          ...(context.networkData === null ? {} : { networkData: context.networkData }),
        }),
        onDone: enterWaitActive('deploy'),
        onError: { target: 'cleanup', actions: 'failRequestActive' },
      },
    },
    waitActive: waitActiveState('deploy'),
    cleanup: {
      // Best effort: a cleanup failure becomes a warning, the deploy's own error stays the result.
      initial: 'unplugVifs',
      states: {
        unplugVifs: {
          invoke: {
            id: 'unplugVifs',
            src: 'unplugVifs',
            input: ({ context }) => ({ node: context.node ?? '', vifs: context.vifs.map((v) => v.id) }),
            onDone: { target: 'stopFiltering' },
            onError: { target: 'stopFiltering', actions: 'warnCleanup' },
          },
        },
        stopFiltering: {
          invoke: {
            id: 'stopFiltering',
            src: 'stopFiltering',
            input: ({ context }) => ({
              instance: context.instance,
              node: context.node ?? '',
              vifs: context.vifs.map((v) => v.id),
            }),
            onDone: { target: '#deploy.failed' },
            onError: { target: '#deploy.failed', actions: 'warnCleanup' },
          },
        },
      },
    },
    succeeded: { type: 'final' },
    failed: { type: 'final', entry: 'adviseDestroy' },
  },
  output: ({ context }) => outputOf(context),
});
