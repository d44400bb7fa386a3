import { DEFAULT_POLICY } from '../defaults.js';
import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_LEASING, LUA_OWNED, PROMOTE_ON_FINISH } from './lua-common.js';

/**
 * Records a failed attempt: schedules a retry with exponential backoff and jitter, or sends the
 * task to dead when attempts are spent or the error is unrecoverable. Optionally claims next.
 */
export const failScript = defineScript({
  name: 'fail',
  header: `
fail: end an attempt with an error; retry later (state failed) or give up (state dead).
${COMMON_HEADER}
ARGV[2]: host id         ARGV[3]: slot token        ARGV[4]: task id
ARGV[5]: lease (the record's 'claims' when it was claimed)
ARGV[6]: error message   ARGV[7]: '1' when unrecoverable (straight to dead)
ARGV[8]: jitter in [0, 1) (the retry waits backoff/2 + jitter * backoff/2)
ARGV[9]: '1' to promote due delayed tasks and claim the next task for this token   ARGV[10]: lease ms   ARGV[11]: lane order
Backoff: backoffMs * 2^(attempts-1), capped at backoffMaxMs.
Returns: { status, outcome, retryAt, then the leased task as claim returns it (a JSON string
  [[token, id, fields]]) when a next task was claimed }
  status 1 with outcome 'failed' (retryAt = ms timestamp) or 'dead' (retryAt = 0);
  status 0 with outcome 'lost': the lease was lost, nothing stored.`,
  includes: [...LUA_LEASING, LUA_OWNED],
  body: `
local host, token, id, lease = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now = now_ms()
local key = task_key(id)
local out = { 0, 'lost', 0 }
local mine, fields = owned(key, host, lease, 'attempts', 'maxAttempts', 'backoffMs', 'backoffMaxMs')
if mine then
  redis.call('ZREM', K_ACTIVE, id)
  local v = { fields[4], fields[5], fields[6], fields[7] }
  local attempts = tonumber(v[1]) or 1
  local max_attempts = tonumber(v[2]) or 1
  if ARGV[7] == '1' or attempts >= max_attempts then
    bury(key, id, now, ARGV[6])
    out = { 1, 'dead', 0 }
  else
    local base = tonumber(v[3]) or ${DEFAULT_POLICY.backoffMs}
    local cap = tonumber(v[4]) or ${DEFAULT_POLICY.backoffMaxMs}
    local backoff = base * math.pow(2, attempts - 1)
    if backoff > cap then backoff = cap end
    local retry_at = now + math.floor(backoff / 2 + (tonumber(ARGV[8]) or 0) * backoff / 2)
    redis.call('HSET', key, 'state', 'failed', 'error', ARGV[6], 'runAt', retry_at, 'finishedAt', now)
    redis.call('ZADD', K_DELAYED, retry_at, id)
    redis.call('HINCRBY', K_STATS, 'failed', 1)
    wake_one()
    out = { 1, 'failed', retry_at }
  end
end

if ARGV[9] == '1' then
  promote_due(now, ${PROMOTE_ON_FINISH})
  local got = claim_for(host, token, ARGV[11], now, tonumber(ARGV[10]))
  if got then
    -- The token stays off the host's list: it was taken when its previous task was leased.
    out[4] = encode_leased({ got })
    return out
  end
end
give_tokens(host, { token }, now)
return out`,
});
