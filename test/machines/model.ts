// The model the walker and the property tests share: for each effect, every way it can answer
// (each success variant, each provision/power state, each Ironic failure), the inputs walked,
// and the invariants every path must keep.
import { UNPROVISION_STATES } from '../../src/ironic/states.js';
import type { ProvisionStateValue } from '../../src/ironic/states.js';
import type { EffectCall, TraceEntry } from './drive.js';
import type { OpName } from '../../src/machines/index.js';
import type { LifecycleOutput } from '../../src/machines/lifecycle-output.js';
import {
  FLAVOR,
  FULL_NODE,
  IMAGE,
  INSTANCE,
  IRONIC_FAILURES,
  NODE,
  OTHER_INSTANCE,
  fail,
  nodeView,
  observed,
  ok,
  power,
} from './fixtures.js';
import type { AnswerSpace, LabelledAnswer, WalkedPath } from './walker.js';
import { succeeded } from './walker.js';

const LOOKUP_STATES: ProvisionStateValue[] = [
  'active',
  'deploy failed',
  'error',
  'wait call-back',
  'deploying',
  'available',
  'manageable',
  null,
];

const TEARDOWN_OBSERVATIONS: LabelledAnswer[] = [
  { label: 'deleting', answer: observed('deleting') },
  { label: 'cleaning', answer: observed('cleaning') },
  { label: 'cleaning released', answer: observed('cleaning', { instance_uuid: null }) },
  { label: 'clean wait', answer: observed('clean wait', { instance_uuid: null }) },
  {
    label: 'clean failed',
    answer: observed('clean failed', { instance_uuid: null, last_error: 'bmc gone' }),
  },
  { label: 'available', answer: observed('available', { instance_uuid: null }) },
  { label: 'null', answer: observed(null, { instance_uuid: null }) },
  { label: 'still active', answer: observed('active') },
  { label: 'error', answer: observed('error') },
];

const ACTIVE_OBSERVATIONS: LabelledAnswer[] = [
  { label: 'active', answer: observed('active') },
  { label: 'deploying', answer: observed('deploying', { target_provision_state: 'active' }) },
  { label: 'wait call-back', answer: observed('wait call-back', { target_provision_state: 'active' }) },
  { label: 'deploy failed', answer: observed('deploy failed', { last_error: 'image write failed' }) },
  { label: 'target deleted', answer: observed('deploying', { target_provision_state: 'deleted' }) },
  { label: 'available', answer: observed('available') },
  { label: 'null', answer: observed(null) },
  { label: 'other instance', answer: observed('deploying', { instance_uuid: OTHER_INSTANCE }) },
];

const POWER_OBSERVATIONS: LabelledAnswer[] = [
  { label: 'settled off', answer: power('power off', null) },
  { label: 'settled on', answer: power('power on', null) },
  { label: 'pending', answer: power('power on', 'power off') },
];

const CONSOLES: LabelledAnswer[] = [
  { label: 'socat tcp', answer: ok({ enabled: true, type: 'socat', url: 'tcp://192.0.2.10:8023' }) },
  { label: 'disabled', answer: ok({ enabled: false, type: null, url: null }) },
  { label: 'shellinabox', answer: ok({ enabled: true, type: 'shellinabox', url: 'http://192.0.2.10:8023' }) },
  { label: 'socat udp', answer: ok({ enabled: true, type: 'socat', url: 'udp://192.0.2.10:8023' }) },
  { label: 'socat bad url', answer: ok({ enabled: true, type: 'socat', url: 'not a url' }) },
];

function successes(call: EffectCall): LabelledAnswer[] {
  const input = call.input as Record<string, unknown>;
  switch (call.src) {
    case 'lookupNode':
      return LOOKUP_STATES.map((s) => ({
        label: `found ${s ?? 'null'}`,
        answer: ok(nodeView({ provision_state: s })),
      }));
    case 'getNode':
      return [{ label: 'node', answer: ok(FULL_NODE) }];
    case 'unplugVifs':
      return [
        { label: 'detached', answer: ok({ detached: input['vifs'], notAttached: [] }) },
        { label: 'not attached', answer: ok({ detached: [], notAttached: input['vifs'] }) },
      ];
    case 'plugVifs':
      return [
        { label: 'attached', answer: ok({ attached: input['vifs'], alreadyAttached: [] }) },
        { label: 'already attached', answer: ok({ attached: [], alreadyAttached: input['vifs'] }) },
      ];
    case 'startFiltering':
    case 'stopFiltering':
      return [{ label: 'done', answer: ok({ done: true }) }];
    case 'addInstanceInfo':
      return [{ label: 'patched', answer: ok({ paths: ['/instance_info/image_source', '/instance_uuid'] }) }];
    case 'validateNode': {
      const good = { result: true, reason: null };
      const bad = { result: false, reason: 'missing deploy_kernel' };
      return [
        { label: 'valid', answer: ok({ deploy: good, power: good }) },
        { label: 'deploy invalid', answer: ok({ deploy: bad, power: good }) },
        { label: 'power invalid', answer: ok({ deploy: good, power: bad }) },
        { label: 'unknown', answer: ok({ deploy: { result: null, reason: null }, power: good }) },
      ];
    }
    case 'collectNetworkMetadata':
      return [{ label: 'network data', answer: ok({ links: [], networks: [], services: [] }) }];
    case 'requestActive':
      return [
        { label: 'accepted', answer: ok({ configDriveSent: true, alreadyRequested: false }) },
        { label: 'already deploying', answer: ok({ configDriveSent: true, alreadyRequested: true }) },
      ];
    case 'requestDeleted':
      return [
        { label: 'accepted', answer: ok({ alreadyUnprovisioning: false, state: null }) },
        { label: 'already cleaning', answer: ok({ alreadyUnprovisioning: true, state: 'cleaning' }) },
      ];
    case 'removeInstanceInfo':
      return [
        { label: 'removed', answer: ok({ removed: true, reason: null }) },
        { label: '400 kept', answer: ok({ removed: false, reason: 'nothing to remove' }) },
      ];
    case 'requestRebuild':
      return [{ label: 'accepted', answer: ok({ alreadyRequested: false }) }];
    case 'setPowerState':
      return [{ label: 'accepted', answer: ok({ target: input['target'], soft: input['soft'] }) }];
    case 'getConsole':
      return CONSOLES;
    case 'setConsoleMode':
      return [{ label: 'accepted', answer: ok({ enabled: input['enabled'] }) }];
    case 'sleep':
      return [{ label: 'slept', answer: ok({ sleptMs: input['ms'] }) }];
    default:
      throw new Error(`no answers for effect ${call.src}`);
  }
}

function observations(op: OpName): LabelledAnswer[] {
  if (op === 'destroy') return TEARDOWN_OBSERVATIONS;
  if (op === 'deploy' || op === 'rebuild') return ACTIVE_OBSERVATIONS;
  return POWER_OBSERVATIONS;
}

/** Effect-specific failures beyond Ironic's own. */
function ownFailures(src: string): LabelledAnswer[] {
  if (src === 'startFiltering' || src === 'stopFiltering')
    return [{ label: 'hook failed', answer: fail('FILTERING_HOOK_FAILED') }];
  if (src === 'plugVifs')
    return [{ label: '400 attach', answer: fail('VIF_ATTACH_FAILED', 400, 'no free port') }];
  if (src === 'requestActive') {
    return [
      { label: 'secrets gone', answer: fail('SECRETS_UNAVAILABLE') },
      { label: 'config drive', answer: fail('CONFIG_DRIVE_FAILED') },
    ];
  }
  if (src === 'sleep') return [{ label: 'aborted', answer: fail('IRONIC_ABORTED') }];
  return [];
}

const CONSOLE_TCP = CONSOLES[0] as LabelledAnswer;
const CONSOLE_OFF = CONSOLES[1] as LabelledAnswer;

/**
 * Console reads: which console an enabled read shows only matters once the reset is over, so
 * earlier reads answer only "enabled" or "disabled" (the other variants would repeat subtrees).
 */
function consoleReads(state: string): LabelledAnswer[] {
  if (state.endsWith('waitEnabled.check')) return CONSOLES;
  return [CONSOLE_TCP, CONSOLE_OFF];
}

/** Effects that never call Ironic: they fail only their own way (a hook error, an abort). */
const NOT_IRONIC = ['startFiltering', 'stopFiltering', 'sleep'];

export function spaceFor(op: OpName): AnswerSpace {
  return (call: EffectCall, trace: readonly TraceEntry[], state: string) => [
    ...(call.src === 'observeNode'
      ? observations(op)
      : call.src === 'getConsole'
        ? consoleReads(state)
        : successes(call)),
    ...(NOT_IRONIC.includes(call.src) ? [] : IRONIC_FAILURES),
    ...ownFailures(call.src),
  ];
}

const VIFS = ['vif-a', 'vif-b'];
const NETWORK_VIFS = VIFS.map((id) => ({ id, address: '52:54:00:12:34:56' }));
const CONFIG_DRIVE = { required: true, hasAdminPassword: true, hasUserData: false, injectedFiles: 0 };

export const INPUTS: { [K in OpName]: unknown[] } = {
  destroy: [
    { instance: INSTANCE, vifs: VIFS, timeoutS: 2 },
    { instance: INSTANCE, node: NODE, vifs: VIFS, waitForAvailable: true, timeoutS: 1 },
  ],
  deploy: [
    {
      instance: INSTANCE,
      node: NODE,
      vifs: NETWORK_VIFS,
      image: IMAGE,
      flavor: FLAVOR,
      configDrivePlan: CONFIG_DRIVE,
      timeoutS: 1,
    },
    {
      instance: INSTANCE,
      node: NODE,
      vifs: NETWORK_VIFS,
      image: IMAGE,
      flavor: FLAVOR,
      configDrivePlan: { ...CONFIG_DRIVE, required: false },
      timeoutS: 0.5,
    },
    {
      instance: INSTANCE,
      node: '',
      vifs: NETWORK_VIFS,
      image: IMAGE,
      flavor: FLAVOR,
      configDrivePlan: CONFIG_DRIVE,
    },
  ],
  rebuild: [
    { instance: INSTANCE, image: IMAGE, flavor: FLAVOR, preserveEphemeral: true, timeoutS: 2 },
    { instance: INSTANCE, node: NODE, image: IMAGE, flavor: FLAVOR, preserveEphemeral: false, timeoutS: 1 },
  ],
  reboot: [
    { instance: INSTANCE, soft: true, timeoutS: 2 },
    { instance: INSTANCE, soft: false, timeoutS: 2 },
  ],
  powerOff: [
    { instance: INSTANCE, softTimeoutSeconds: 30, timeoutS: 2 },
    { instance: INSTANCE, timeoutS: 2 },
  ],
  powerOn: [{ instance: INSTANCE, timeoutS: 3 }],
  console: [{ instance: INSTANCE, timeoutMs: 1000 }],
};

const srcs = (trace: readonly TraceEntry[]) => trace.map((t) => t.call.src);
const indexOfSuccess = (trace: readonly TraceEntry[], src: string) =>
  trace.findIndex((t) => t.call.src === src && succeeded(t.answer));
const isJson = (value: unknown) =>
  JSON.stringify(JSON.parse(JSON.stringify(value))) === JSON.stringify(value);

/** Each invariant returns a violation message, or null. Checked on every path (cheaply: no expect per path). */
export type Invariant = (path: WalkedPath) => string | null;

const common: Invariant[] = [
  (p) => (p.stuck ? 'a non-final state invoked no effect' : null),
  (p) => (p.final ? null : `not final after ${p.trace.length} effects`),
  (p) => (p.state === 'succeeded' || p.state === 'failed' ? null : `ended in ${p.state}`),
  (p) =>
    (p.output as LifecycleOutput).status === p.state ? null : 'output.status differs from the final state',
  (p) => {
    const out = p.output as LifecycleOutput;
    return out.status === 'failed' && typeof out.error?.code !== 'string'
      ? 'failed without an error code'
      : null;
  },
  // Each effect start answers exactly one event: never two effects from one transition.
  (p) => (p.maxSpawnsPerStep <= 1 ? null : `${p.maxSpawnsPerStep} effects started by one transition`),
  (p) => (isJson(p.context) && isJson(p.output) ? null : 'context or output is not plain JSON'),
];

const teardown: Invariant[] = [
  // Bug 1659836: cleaning locks the node, so the cleanup must be finished before `deleted`.
  (p) => {
    const at = srcs(p.trace).indexOf('requestDeleted');
    if (at === -1) return null;
    const unplugged = indexOfSuccess(p.trace, 'unplugVifs');
    const unfiltered = indexOfSuccess(p.trace, 'stopFiltering');
    return unplugged >= 0 && unfiltered > unplugged && at > unfiltered
      ? null
      : 'deleted requested before the cleanup finished';
  },
  (p) => {
    const at = srcs(p.trace).indexOf('removeInstanceInfo');
    if (at === -1) return null;
    return indexOfSuccess(p.trace, 'stopFiltering') > indexOfSuccess(p.trace, 'unplugVifs') &&
      indexOfSuccess(p.trace, 'unplugVifs') >= 0 &&
      at > indexOfSuccess(p.trace, 'stopFiltering')
      ? null
      : 'instance_info removed before the cleanup finished';
  },
  (p) => {
    const lookup = p.trace[0];
    if (lookup === undefined || !succeeded(lookup.answer) || !srcs(p.trace).includes('requestDeleted'))
      return null;
    const found = (lookup.answer as { output: { provision_state: ProvisionStateValue } }).output
      .provision_state;
    return UNPROVISION_STATES.includes(found)
      ? null
      : `deleted requested for a node found in ${found ?? 'null'}`;
  },
];

const deploy: Invariant[] = [
  // Every failure after the node was associated and before Ironic accepted `active` ends with
  // the cleanup, in order; a failure before the association touches no VIF and no filtering.
  (p) => {
    if (p.state !== 'failed' || indexOfSuccess(p.trace, 'requestActive') !== -1 || p.trace.length === 0)
      return null;
    if (indexOfSuccess(p.trace, 'addInstanceInfo') === -1) {
      return srcs(p.trace).some((s) => s !== 'getNode' && s !== 'addInstanceInfo')
        ? 'VIFs or filtering touched before the node was associated'
        : null;
    }
    return srcs(p.trace).slice(-2).join(',') === 'unplugVifs,stopFiltering'
      ? null
      : 'failed before active without cleanup';
  },
  (p) => {
    const requested = indexOfSuccess(p.trace, 'requestActive');
    if (requested === -1) return p.state === 'succeeded' ? 'succeeded without requesting active' : null;
    if (indexOfSuccess(p.trace, 'startFiltering') > requested)
      return 'active requested before filtering started';
    return srcs(p.trace)
      .slice(requested + 1)
      .every((s) => s === 'observeNode')
      ? null
      : 'effects other than waiting after active';
  },
  (p) => {
    const plugged = srcs(p.trace).indexOf('plugVifs');
    if (plugged === -1) return null;
    const validated = indexOfSuccess(p.trace, 'validateNode');
    return validated !== -1 && validated < plugged ? null : 'VIFs plugged before validation';
  },
];

const consoleChecks: Invariant[] = [
  (p) => {
    const out = p.output as LifecycleOutput;
    if (p.state !== 'succeeded') return out.console === undefined ? null : 'console returned on failure';
    if (out.console?.host !== '192.0.2.10' || out.console.port !== 8023)
      return 'succeeded without the tcp endpoint';
    return p.trace.at(-1)?.call.src === 'getConsole' ? null : 'succeeded without reading the console last';
  },
];

export const INVARIANTS: { [K in OpName]: Invariant[] } = {
  destroy: [...common, ...teardown],
  deploy: [...common, ...deploy],
  rebuild: common,
  reboot: common,
  powerOff: common,
  powerOn: common,
  console: [...common, ...consoleChecks],
};
