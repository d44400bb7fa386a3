import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';

/**
 * Runs a delayed task now: a task waiting in the delayed set (delayed, or failed and waiting for
 * its retry) goes to the tail of its lane at once, as promote would move it when due; its
 * `readyAt` is now.
 *
 * Idempotent: a task that is queued already answers 'queued' and nothing is written, so a re-sent
 * call (its reply lost) answers as the first did.
 */
export const runNowScript = defineScript({
  name: 'run-now',
  header: `
run-now: move a delayed (or failed, awaiting its retry) task to the tail of its lane now.
${COMMON_HEADER}
ARGV[2]: task id
Returns: { code, state }
  code 1: queued (now, or it was queued already: nothing is written); 0: not delayed (active,
  succeeded, dead, canceled), state is the current state; -1: no such task (state '').`,
  includes: [LUA_BASE],
  body: `
local id = ARGV[2]
local key = task_key(id)
if key_type(key) ~= 'hash' then return { -1, '' } end
local v = redis.call('HMGET', key, 'state', 'priority')
local state = v[1]
if state == 'queued' then return { 1, 'queued' } end
if state ~= 'delayed' and state ~= 'failed' then return { 0, state or '' } end
redis.call('ZREM', K_DELAYED, id)
redis.call('HSET', key, 'state', 'queued', 'readyAt', now_ms())
redis.call('HDEL', key, 'runAt')
redis.call('RPUSH', K_LANE_OF[v[2]] or KEYS[2], id)
wake_one()
return { 1, 'queued' }`,
});
