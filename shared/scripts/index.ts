/** Every engine script, one per operation. See each file's header for KEYS, ARGV and returns. */
export { cancelScript } from './cancel.js';
export { claimScript } from './claim.js';
export { BULK_CHUNK, BULK_MAX_EXAMINED, deadMatchingScript } from './dead-matching.js';
export { DEAD_PAGE_MAX_SKIPPED, deadPageScript } from './dead-page.js';
export { declareShardsScript, LUA_SHARDS } from './declare-shards.js';
export type { LuaScript } from './define-script.js';
export { DEAD_IDS_MAX, deleteDeadScript } from './delete-dead.js';
export { ENQUEUE_FIELDS_PER_TASK, enqueueScript } from './enqueue.js';
export { findByKeyScript } from './find-by-key.js';
export { finishScript } from './finish.js';
export { getTaskScript } from './get-task.js';
export { heartbeatScript, registerHostScript, unregisterHostScript } from './hosts.js';
export { listDeadScript } from './list-dead.js';
export { LIST_MAX_COUNT, listWaitingScript } from './list-waiting.js';
export {
  HISTORY_INTERVAL_MS,
  HISTORY_MAX_SAMPLES,
  HISTORY_TTL_MS,
  RECENT_MAX,
  RECENT_SWEEP_BATCH,
  RECENT_TRIM_EVERY,
} from './lua-indexes.js';
export { SUMMARY_FIELDS, SUMMARY_WIDTH } from './lua-views.js';
export { promoteScript } from './promote.js';
export { reapScript } from './reap.js';
export { renewScript } from './renew.js';
export { retryDeadScript } from './retry-dead.js';
export { runNowScript } from './run-now.js';
export { SEARCH_MAX_EXAMINED, SEARCH_MAX_LIMIT, searchTasksScript } from './search-tasks.js';
export { snapshotScript } from './snapshot.js';
export { statsScript } from './stats.js';
