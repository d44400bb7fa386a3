import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE, LUA_DEAD } from './lua-common.js';

/** Puts tasks whose lease expired (their host died or stalled) back at the head of their lane. */
export const reapScript = defineScript({
  name: 'reap',
  header: `
reap: recover tasks whose lease expired; any host may run it.
${COMMON_HEADER}
ARGV[2]: the most tasks to recover in this call
Each expired task counts a stall; with attempts left it goes back to the head of its lane
(state queued, it runs again and its attempts show the redelivery); without, it is dead.
Slot tokens are left alone: a live host frees its own slot when its run ends, and a dead
host's token list expires with it.
Returns: { requeued, dead }`,
  includes: [LUA_BASE, LUA_DEAD],
  body: `
local now = now_ms()
local expired = redis.call('ZRANGEBYSCORE', K_ACTIVE, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local requeued, buried = 0, 0
-- Latest deadline first, so that LPUSH leaves the earliest-claimed task at the head.
for i = #expired, 1, -1 do
  local id = expired[i]
  redis.call('ZREM', K_ACTIVE, id)
  local key = task_key(id)
  local kind = key_type(key)
  if kind == 'hash' then
    local v = redis.call('HMGET', key, 'state', 'attempts', 'maxAttempts', 'priority')
    if v[1] == 'active' then
      local stalls = redis.pcall('HINCRBY', key, 'stalls', 1)
      if type(stalls) ~= 'number' then stalls = 1 end
      local lane = K_LANE_OF[v[4]]
      if (tonumber(v[2]) or 0) >= (tonumber(v[3]) or 0) or not lane then
        local reason = 'lease expired ' .. stalls .. ' time(s): the worker host stopped renewing it (crashed, killed or stalled)'
        if not lane then reason = 'corrupted record: unknown priority ' .. tostring(v[4]) end
        bury(key, id, now, reason)
        buried = buried + 1
      else
        redis.call('HSET', key, 'state', 'queued')
        redis.call('HDEL', key, 'startedAt')
        redis.call('LPUSH', lane, id)
        requeued = requeued + 1
      end
    end
  elseif kind ~= 'none' then
    bury_corrupt(key, id, now, kind)
    buried = buried + 1
  end
end
if requeued > 0 then wake_one() end
return { requeued, buried }`,
});
