/** Every engine script, one per operation. See each file's header for KEYS, ARGV and returns. */
export { cancelScript } from './cancel.js';
export { claimScript } from './claim.js';
export type { LuaScript } from './define-script.js';
export { ENQUEUE_FIELDS_PER_TASK, enqueueScript } from './enqueue.js';
export { finishScript } from './finish.js';
export { getTaskScript } from './get-task.js';
export { heartbeatScript, registerHostScript, unregisterHostScript } from './hosts.js';
export { listDeadScript } from './list-dead.js';
export { promoteScript } from './promote.js';
export { reapScript } from './reap.js';
export { renewScript } from './renew.js';
export { retryDeadScript } from './retry-dead.js';
export { statsScript } from './stats.js';
