/** Forklift's shared core: keys, task schemas, Lua scripts and codecs for the edge and the host. */
export * from './defaults.js';
export * from './enqueue-request.js';
export * from './errors.js';
export * from './keys.js';
export * from './priority.js';
export * from './producer.js';
export * from './queue-client.js';
export * from './queue-views.js';
export * from './script-runner.js';
export * from './shards.js';
export * from './task-definition.js';
export * from './task-record.js';
export * from './task-state.js';
