// Stand-ins for every effect. A machine only names its effects; the engine executes the
// `xstate.spawnChild` actions that XState's pure transition() returns and feeds the results
// back. If XState ever tried to run one of these itself, the machine would no longer be pure,
// so each throws instead of doing anything.
import { fromPromise } from 'xstate';
import type { EffectName, EffectSignatures } from './effect-types.js';

function standIn<K extends EffectName>(name: K) {
  return fromPromise<EffectSignatures[K]['output'], EffectSignatures[K]['input']>(async () => {
    throw new Error(`effect "${name}" is executed by the engine, never by XState`);
  });
}

export const effectActors = {
  lookupNode: standIn('lookupNode'),
  getNode: standIn('getNode'),
  observeNode: standIn('observeNode'),
  unplugVifs: standIn('unplugVifs'),
  plugVifs: standIn('plugVifs'),
  startFiltering: standIn('startFiltering'),
  stopFiltering: standIn('stopFiltering'),
  addInstanceInfo: standIn('addInstanceInfo'),
  validateNode: standIn('validateNode'),
  collectNetworkMetadata: standIn('collectNetworkMetadata'),
  requestActive: standIn('requestActive'),
  requestDeleted: standIn('requestDeleted'),
  removeInstanceInfo: standIn('removeInstanceInfo'),
  requestRebuild: standIn('requestRebuild'),
  setPowerState: standIn('setPowerState'),
  getConsole: standIn('getConsole'),
  setConsoleMode: standIn('setConsoleMode'),
  sleep: standIn('sleep'),
};
