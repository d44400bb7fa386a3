import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';

/** The queue's gauges and running totals, read in one step. */
export const statsScript = defineScript({
  name: 'stats',
  readOnly: true,
  header: `
stats: lane lengths, set sizes and running totals of a queue.
${COMMON_HEADER}
Returns: { high, normal, low, delayed, active, succeeded, failed, dead, canceled, enqueued, hosts }
  (succeeded/failed/dead/canceled/enqueued are running totals; hosts counts live worker hosts)`,
  includes: [LUA_BASE],
  body: `
local totals = redis.call('HMGET', K_STATS, 'succeeded', 'failed', 'dead', 'canceled', 'enqueued')
local now = now_ms()
return {
  redis.call('LLEN', KEYS[1]), redis.call('LLEN', KEYS[2]), redis.call('LLEN', KEYS[3]),
  redis.call('ZCARD', K_DELAYED), redis.call('ZCARD', K_ACTIVE),
  tonumber(totals[1]) or 0, tonumber(totals[2]) or 0, tonumber(totals[3]) or 0,
  tonumber(totals[4]) or 0, tonumber(totals[5]) or 0,
  redis.call('ZCOUNT', K_HOSTS, '(' .. now, '+inf')
}`,
});
