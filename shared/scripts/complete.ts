import { defineScript } from './define-script.js';
import {
  COMMON_HEADER,
  LUA_BASE,
  LUA_CLAIM,
  LUA_DEAD,
  LUA_OWNED,
  LUA_PROMOTE,
  LUA_TOKENS,
} from './lua-common.js';

/** Marks an active task succeeded with its result, and optionally claims the next one. */
export const completeScript = defineScript({
  name: 'complete',
  header: `
complete: store the result of an active task, and lease the next task to the same slot.
${COMMON_HEADER}
ARGV[2]: host id         ARGV[3]: slot token        ARGV[4]: task id
ARGV[5]: lease (the record's 'claims' when it was claimed)
ARGV[6]: result JSON     ARGV[7]: '1' to promote due delayed tasks and claim the next task for this token, '0' to free it
ARGV[8]: lease ms        ARGV[9]: lane order (see claim)
Returns: { status, then token, id, HGETALL when a next task was claimed }
  status 1: stored; 0: the lease was lost (reaped, canceled, or claimed again), nothing stored.`,
  includes: [LUA_BASE, LUA_DEAD, LUA_PROMOTE, LUA_TOKENS, LUA_CLAIM, LUA_OWNED],
  body: `
local host, token, id, lease = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now = now_ms()
local key = task_key(id)
local status = 0
if owned(key, host, lease) then
  status = 1
  local ttl = tonumber(redis.call('HGET', key, 'resultTtlMs')) or 604800000
  redis.call('HSET', key, 'state', 'succeeded', 'result', ARGV[6], 'finishedAt', now)
  redis.call('HDEL', key, 'host', 'token', 'error')
  redis.call('PEXPIRE', key, ttl)
  redis.call('ZREM', K_ACTIVE, id)
  redis.call('HINCRBY', K_STATS, 'succeeded', 1)
end

local out = { status }
if ARGV[7] == '1' then
  promote_due(now, 100)
  local got = claim_for(host, token, ARGV[9], now, tonumber(ARGV[8]))
  if got then
    take_token(host, token)
    out[2] = got[1]
    out[3] = got[2]
    out[4] = got[3]
    return out
  end
end
give_token(host, token, now)
return out`,
});
