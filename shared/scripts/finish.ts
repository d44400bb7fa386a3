import { DEFAULT_POLICY } from '../defaults.js';
import { defineScript } from './define-script.js';
import { COMMON_HEADER, PROMOTE_ON_FINISH } from './lua-common.js';
import { LUA_LEASING, LUA_OWNED } from './lua-leasing.js';

/**
 * Ends runs and refills or frees their slot tokens, in one call: what a child does after its
 * runs (and what the host does for a child that died, or at shutdown). A run ends as a success
 * (its result stored), a failure (retried with backoff, or dead), or given back unstarted
 * (attempt refunded). Safe to re-send: runs this host already ended with the same lease are
 * reported as they ended, and a token that still holds the task an earlier execution leased it
 * gets that task back instead of a new one.
 */
export const finishScript = defineScript({
  name: 'finish',
  header: `
finish: end runs of a host's slot, then lease the next task to each of its tokens, or free them.
${COMMON_HEADER}
ARGV[2]: host id
ARGV[3]: 'lease' (fill the tokens: each gets the next queued task, as claim does) or 'free' (free
  the tokens; a token that still holds a task of this host that no run here names gives it back)
ARGV[4]: lease ms        ARGV[5]: lane order (see claim)
ARGV[6]: '1' to promote due delayed tasks before leasing
ARGV[7]: jitter in [0, 1) for retry delays (a retry waits backoff/2 + jitter * backoff/2)
ARGV[8]: n, the number of runs; then n groups of: slot token, task id, lease (the record's
  'claims' when it was leased), kind, text. kind 'ok' (text: the result JSON), 'fail' (text: the
  error; retried while attempts remain, else dead), 'fatal' (text: the error; dead at once),
  'release' (given back to the head of its lane unstarted, attempt refunded; text ignored)
ARGV[9+5n..]: further tokens of the slot to fill or free (after the runs' own tokens)
Backoff: backoffMs * 2^(attempts-1), capped at backoffMaxMs.
Returns: { n outcomes, then, when tasks were leased, a JSON string of them as claim returns }
  outcome per run: 'succeeded', 'failed' (retry scheduled), 'dead', 'released', or 'lost' (the
  lease was no longer this host's: reaped, or the record is gone; nothing stored). A given-back
  task keeps releasedBy = <host>:<lease>, so a release sent again answers 'released'.
  Tokens are only touched while the host is alive (registered, heartbeat unexpired).`,
  includes: [...LUA_LEASING, LUA_OWNED],
  body: `
local host, mode, lease_ms, order = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local jitter, n = tonumber(ARGV[7]) or 0, tonumber(ARGV[8])
local now, now_text = now_ms_text()
local out, ended, tokens, releases, freed = {}, {}, {}, {}, {}
local succeeded, failed = 0, 0
for r = 0, n - 1 do
  local b = 9 + r * 5
  local token, id, lease, kind, text = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  local key = task_key(id)
  local mine, v
  if kind == 'ok' then
    mine, v = owned(key, host, lease, 'priority', 'resultTtlMs', 'error')
  else
    mine, v = owned(key, host, lease, 'priority', 'resultTtlMs', 'error', 'attempts',
      'maxAttempts', 'backoffMs', 'backoffMaxMs', 'releasedBy')
  end
  local outcome = 'lost'
  if mine then
    -- The token held this run, which ends now: it holds nothing else.
    freed[token] = true
    if kind == 'ok' then
      redis.call('HSET', key, 'state', 'succeeded', 'result', text, 'finishedAt', now_text)
      -- Only a task that failed or stalled before has an error to drop (a call saved per task).
      if v[6] then redis.call('HDEL', key, 'error') end
      local ttl = v[5]
      if not (ttl and string.match(ttl, '^%d+$')) then ttl = '${DEFAULT_POLICY.resultTtlMs}' end
      redis.call('PEXPIRE', key, ttl)
      redis.call('ZREM', K_ACTIVE, id)
      succeeded = succeeded + 1
      outcome = 'succeeded'
    elseif kind == 'release' then
      releases[#releases + 1] = { key, id, K_LANE_OF[v[4]] or KEYS[2], host .. ':' .. lease }
      outcome = 'released'
    else
      redis.call('ZREM', K_ACTIVE, id)
      local attempts = tonumber(v[7]) or 1
      if kind == 'fatal' or attempts >= (tonumber(v[8]) or 1) then
        bury(key, id, now, text)
        outcome = 'dead'
      else
        local backoff = (tonumber(v[9]) or ${DEFAULT_POLICY.backoffMs}) * math.pow(2, attempts - 1)
        backoff = math.min(backoff, tonumber(v[10]) or ${DEFAULT_POLICY.backoffMaxMs})
        local spread = (jitter + r * 0.618034) % 1
        local retry_at = now + math.floor(backoff / 2 + spread * backoff / 2)
        redis.call('HSET', key, 'state', 'failed', 'error', text, 'runAt', retry_at, 'finishedAt', now)
        redis.call('ZADD', K_DELAYED, retry_at, id)
        failed = failed + 1
        outcome = 'failed'
      end
    end
  else
    -- Ended by an earlier execution of this call (its reply was lost): say how.
    outcome = ended_by(v, host, lease) or 'lost'
    if outcome == 'lost' and kind == 'release' and v and v[11] == host .. ':' .. lease then
      outcome = 'released'
    end
  end
  out[#out + 1] = outcome
  ended[id] = true
  tokens[#tokens + 1] = token
end
if succeeded > 0 then redis.call('HINCRBY', K_STATS, 'succeeded', int_text(succeeded)) end
if failed > 0 then
  redis.call('HINCRBY', K_STATS, 'failed', int_text(failed))
  -- A blocked host recomputes its wait for the earliest retry.
  wake_one()
end
for i = 9 + n * 5, #ARGV do tokens[#tokens + 1] = ARGV[i] end

-- Freeing touches tokens only while the host is alive; leasing finds out from the tokens
-- themselves (see LUA_TOKENS).
if mode ~= 'lease' and host_alive(host, now) then
  for _, token in ipairs(tokens) do
    local held, lease = token_holder(host, token)
    if held and held ~= '' then
      if not ended[held] then
        local key = task_key(held)
        local v = read_task(key, 'state', 'host', 'claims', 'priority')
        if v and v[1] == 'active' and v[2] == host and v[3] == lease then
          releases[#releases + 1] = { key, held, K_LANE_OF[v[4]] or KEYS[2],
            host .. ':' .. (lease or '') }
        end
      end
      hold_token(host, token, '')
    end
  end
end
-- Backwards, so that LPUSH leaves the first one at the head.
for i = #releases, 1, -1 do give_back(unpack(releases[i])) end
if #releases > 0 then wake_one() end

if mode == 'lease' then
  if ARGV[6] == '1' then promote_due(now, ${PROMOTE_ON_FINISH}) end
  local leased = fill_tokens(host, tokens, order, now, now_text, lease_ms, ended, freed)
  if #leased > 0 then out[#out + 1] = encode_leased(leased) end
end
return out`,
});
