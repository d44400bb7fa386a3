import { DEFAULT_POLICY } from '../defaults.js';
import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';

/**
 * Cancels a task that has not started: queued, delayed, or waiting for a retry (failed).
 *
 * Idempotent: a task that is canceled already answers as the cancel did (code 1) and nothing is
 * written (no second count, no new finishedAt or TTL). Clients re-send a call whose reply they
 * lost (@upstash/redis on the edge, ioredis after a reconnect), and the re-sent cancel must not
 * answer "conflict: canceled" for its own success. So any cancel of a canceled task succeeds,
 * whoever canceled it: the caller wanted it canceled, and it is.
 */
export const cancelScript = defineScript({
  name: 'cancel',
  header: `
cancel: take a task that is not running out of its lane or the delayed set.
${COMMON_HEADER}
ARGV[2]: task id
Returns: { code, state }
  code 1: canceled (state 'canceled'), now or by an earlier call (a canceled task is answered
  so and left as it is: a re-sent cancel answers as the first); 0: not cancelable (active,
  succeeded, dead), state is the current state;
  -1: no such task (state '').`,
  includes: [LUA_BASE],
  body: `
local id = ARGV[2]
local key = task_key(id)
if key_type(key) ~= 'hash' then return { -1, '' } end
local v = redis.call('HMGET', key, 'state', 'priority', 'resultTtlMs')
local state = v[1]
if state == 'queued' then
  redis.call('LREM', K_LANE_OF[v[2]] or KEYS[2], 1, id)
elseif state == 'delayed' or state == 'failed' then
  redis.call('ZREM', K_DELAYED, id)
elseif state == 'canceled' then
  return { 1, 'canceled' }
else
  return { 0, state or '' }
end
redis.call('HSET', key, 'state', 'canceled', 'finishedAt', now_ms())
redis.call('HDEL', key, 'runAt')
redis.call('PEXPIRE', key, tonumber(v[3]) or ${DEFAULT_POLICY.resultTtlMs})
redis.call('HINCRBY', K_STATS, 'canceled', 1)
return { 1, 'canceled' }`,
});
