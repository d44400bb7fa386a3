import { DEFAULT_POLICY } from '../defaults.js';
import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_LEASING, LUA_OWNED, PROMOTE_ON_FINISH } from './lua-common.js';

/**
 * Marks active tasks succeeded with their results, and optionally leases the next task to each
 * freed slot: one call for every run a child reported at once.
 */
export const completeScript = defineScript({
  name: 'complete',
  header: `
complete: store the results of active tasks, and lease the next task to each freed slot.
${COMMON_HEADER}
ARGV[2]: host id
ARGV[3]: '1' to promote due delayed tasks and lease the next task to each token; '2' to lease
  without promoting (a busy host promotes now and then, not on every call); '0' to free them
ARGV[4]: lease ms        ARGV[5]: lane order (see claim)
ARGV[6..]: k groups of: slot token, task id, lease (the record's 'claims' when claimed), result JSON
Returns: { k statuses, then, when a task was leased, the leased tasks as claim returns them }
  status 1: stored; 0: the lease was lost (reaped, canceled, or claimed again), nothing stored.
  Tokens that got no next task go back on the host's token list.`,
  includes: [...LUA_LEASING, LUA_OWNED],
  body: `
local host, want_next, lease_ms, order = ARGV[2], ARGV[3] ~= '0', tonumber(ARGV[4]), ARGV[5]
local now = now_ms()
local out = {}
local k = math.floor((#ARGV - 5) / 4)
for g = 0, k - 1 do
  local id, lease = ARGV[6 + g * 4 + 1], ARGV[6 + g * 4 + 2]
  local key = task_key(id)
  local status = 0
  local mine, v = owned(key, host, lease, 'resultTtlMs', 'error')
  if mine then
    status = 1
    local ttl = tonumber(v[4]) or ${DEFAULT_POLICY.resultTtlMs}
    redis.call('HSET', key, 'state', 'succeeded', 'result', ARGV[6 + g * 4 + 3], 'finishedAt', now)
    -- Only a task that failed or stalled before has an error to drop (a call saved per task).
    if v[5] then redis.call('HDEL', key, 'error') end
    redis.call('PEXPIRE', key, ttl)
    redis.call('ZREM', K_ACTIVE, id)
  end
  out[#out + 1] = status
end
local stored = 0
for g = 1, k do stored = stored + out[g] end
if stored > 0 then redis.call('HINCRBY', K_STATS, 'succeeded', stored) end

if ARGV[3] == '1' then promote_due(now, ${PROMOTE_ON_FINISH}) end
local more = want_next
local leased = {}
local freed = {}
for g = 0, k - 1 do
  local token = ARGV[6 + g * 4]
  local got = nil
  if more then
    got = claim_for(host, token, order, now, lease_ms)
    more = got ~= nil
  end
  if got then
    -- The token stays off the host's list: it was taken when its previous task was leased.
    leased[#leased + 1] = got
  else
    freed[#freed + 1] = token
  end
end
give_tokens(host, freed, now)
if #leased > 0 then out[#out + 1] = encode_leased(leased) end
return out`,
});
