// The public API of ironledger. Re-exports only.
export * from './ironic/states.js';
export * from './ironic/types.js';
export * from './ironic/errors.js';
