import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE, LUA_DEAD, LUA_PROMOTE } from './lua-common.js';

/** Moves due delayed tasks (and failed tasks whose backoff ended) into their lanes. */
export const promoteScript = defineScript({
  name: 'promote',
  header: `
promote: move delayed/failed tasks whose run-at time has come to the tail of their lane.
${COMMON_HEADER}
ARGV[2]: the most tasks to move in this call
Returns: { moved, nextDelayedAt } (nextDelayedAt: ms timestamp of the earliest one left, or -1)`,
  includes: [LUA_BASE, LUA_DEAD, LUA_PROMOTE],
  body: `
local moved = promote_due(now_ms(), tonumber(ARGV[2]))
local first = redis.call('ZRANGE', K_DELAYED, 0, 0, 'WITHSCORES')
return { moved, tonumber(first[2]) or -1 }`,
});
