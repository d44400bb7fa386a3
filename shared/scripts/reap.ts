import { DEFAULT_POLICY } from '../defaults.js';
import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE, LUA_DEAD } from './lua-common.js';
import { LUA_TOKENS } from './lua-leasing.js';

/**
 * Puts tasks back whose host is gone: their lease expired and their host stopped beating (it
 * crashed, was killed, or was cut off). A live host keeps its leases however late they are, so
 * a Redis pause or restart shorter than the hosts' TTL costs no task a redelivery.
 */
export const reapScript = defineScript({
  name: 'reap',
  header: `
reap: recover tasks whose lease expired and whose host is not alive; any host may run it.
${COMMON_HEADER}
ARGV[2]: the most tasks to look at in this call
ARGV[3]: orphan grace ms: a lease expired longer ago than this is recovered even though its
  host is alive (the host no longer renews it: it does not know it has the task)
A recovered task counts a stall and gets back the attempt its lease charged (its run did not
end). While stalls <= maxStalls it goes back to the head of its lane (state queued); past that
it is dead ('stalled': it kept losing its host). Its 'host' is cleared, so a late outcome from
the old host is refused as a lost lease.
Returns: { requeued, dead }`,
  includes: [LUA_BASE, LUA_DEAD, LUA_TOKENS],
  body: `
local now = now_ms()
local grace = tonumber(ARGV[3]) or 0
local expired = redis.call('ZRANGEBYSCORE', K_ACTIVE, '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local requeued, buried = 0, 0
local alive = {}
-- Latest deadline first, so that LPUSH leaves the earliest-leased task at the head.
for i = #expired - 1, 1, -2 do
  local id, deadline = expired[i], tonumber(expired[i + 1])
  local key = task_key(id)
  local kind = key_type(key)
  if kind == 'hash' then
    local v = redis.call('HMGET', key, 'state', 'host', 'priority', 'stalls', 'maxStalls')
    if v[1] ~= 'active' then
      redis.call('ZREM', K_ACTIVE, id)
    else
      local owner = v[2] or ''
      if alive[owner] == nil then alive[owner] = owner ~= '' and host_alive(owner, now) end
      if not alive[owner] or deadline + grace < now then
        redis.call('ZREM', K_ACTIVE, id)
        local stalls = (tonumber(v[4]) or 0) + 1
        local lane = K_LANE_OF[v[3]]
        redis.pcall('HINCRBY', key, 'attempts', -1)
        redis.call('HSET', key, 'stalls', stalls)
        redis.call('HDEL', key, 'host', 'startedAt')
        if not lane or stalls > (tonumber(v[5]) or ${DEFAULT_POLICY.maxStalls}) then
          local reason = 'stalled ' .. stalls .. ' time(s): its worker host stopped (crashed, killed or cut off) while holding it'
          if not lane then reason = 'corrupted record: unknown priority ' .. tostring(v[3]) end
          bury(key, id, now, reason)
          buried = buried + 1
        else
          redis.call('HSET', key, 'state', 'queued')
          redis.call('LPUSH', lane, id)
          requeued = requeued + 1
        end
      end
    end
  else
    redis.call('ZREM', K_ACTIVE, id)
    if kind ~= 'none' then
      bury_corrupt(key, id, now, kind)
      buried = buried + 1
    end
  end
end
if requeued > 0 then wake_one() end
return { requeued, buried }`,
});
