/**
 * Lua shared by the engine scripts, spliced into each script that needs it.
 *
 * Every engine script receives the same KEYS, the fixed keys of one queue (`queueKeys().scriptKeys`):
 *
 *   KEYS[1] lane:high   KEYS[2] lane:normal   KEYS[3] lane:low
 *   KEYS[4] delayed     KEYS[5] active        KEYS[6] dead
 *   KEYS[7] stats       KEYS[8] signal        KEYS[9] hosts
 *
 * and ARGV[1] = the key prefix `forklift:{<queue>}:`, from which per-task, per-host and
 * idempotency keys are built (they share the hash tag, so they live in the same Cluster slot).
 *
 * Scripts guard every call that stored data could make fail (a task key that is not a hash, a
 * counter that is not a number): Redis does not roll a script back, so an error half-way would
 * half-write. Such a record is sent to `dead` with a message saying what was wrong.
 *
 * The leasing pieces (slot tokens, claiming, ownership) are in lua-leasing.ts, the dashboard's
 * history and search index in lua-indexes.ts.
 */
import { DEFAULT_POLICY } from '../defaults.js';

/** KEYS/ARGV[1] lines for script headers. */
export const COMMON_HEADER = `KEYS[1..9]: lane:high, lane:normal, lane:low, delayed, active, dead, stats, signal, hosts
ARGV[1]: key prefix, e.g. forklift:{default}:`;

/** Names for KEYS, time, key builders, the wake-up signal. */
export const LUA_BASE = `
local K_LANES = { h = KEYS[1], n = KEYS[2], l = KEYS[3] }
local K_LANE_OF = { high = KEYS[1], normal = KEYS[2], low = KEYS[3] }
local K_DELAYED, K_ACTIVE, K_DEAD = KEYS[4], KEYS[5], KEYS[6]
local K_STATS, K_SIGNAL, K_HOSTS = KEYS[7], KEYS[8], KEYS[9]
local PREFIX = ARGV[1]
-- Keys that are not among KEYS (see shared/keys.ts): built from the prefix, same hash tag.
local K_RECENT, K_HISTORY = PREFIX .. 'recent', PREFIX .. 'history'

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The time as now_ms() gives it, and as the decimal text Redis stores: a number passed to
-- redis.call or joined to a string is formatted with '%.14g', which costs more than a call;
-- the hot path writes times and counters as text made without it (see int_text).
local function now_ms_text()
  local t = redis.call('TIME')
  local us = t[2]
  if #us < 6 then us = string.rep('0', 6 - #us) .. us end
  local ms = string.sub(us, 1, 3)
  return tonumber(t[1]) * 1000 + tonumber(ms), t[1] .. ms
end

-- A whole number as decimal text, by integer formatting (cheaper than tostring's '%.14g').
local function int_text(n) return string.format('%d', n) end

local function task_key(id) return PREFIX .. 'task:' .. id end
local function tokens_key(host) return PREFIX .. 'tokens:' .. host end

local function key_type(key) return redis.call('TYPE', key)['ok'] end

-- Reads fields of a task in one call; nil when the key holds something other than a hash
-- (a missing key reads as all false).
local function read_task(key, ...)
  local v = redis.pcall('HMGET', key, ...)
  if type(v) ~= 'table' or v.err then return nil end
  return v
end

-- Leaves one marker on the signal list, so one blocked host wakes up and claims.
local function wake_one()
  if redis.call('LLEN', K_SIGNAL) == 0 then redis.call('RPUSH', K_SIGNAL, '1') end
end

local function any_queued()
  return redis.call('LLEN', KEYS[1]) + redis.call('LLEN', KEYS[2]) + redis.call('LLEN', KEYS[3]) > 0
end

-- Checks the next 'batch' entries of an index of task ids (a zset) from its sweep cursor (the
-- stats hash field 'field'), drops those whose record is gone, and moves the cursor on (back to
-- the oldest at the end of the index). Used for the dead index and the recent index.
local function sweep_index(index, field, batch)
  local cursor = math.floor(math.max(0, tonumber(redis.pcall('HGET', K_STATS, field)) or 0))
  local from = cursor
  local ids = redis.call('ZRANGE', index, from, from + batch - 1)
  if #ids == 0 and from > 0 then
    from = 0
    ids = redis.call('ZRANGE', index, 0, batch - 1)
  end
  local removed = 0
  if #ids > 0 then
    local keys = {}
    for i, id in ipairs(ids) do keys[i] = task_key(id) end
    if redis.call('EXISTS', unpack(keys)) < #keys then
      for i, id in ipairs(ids) do
        if redis.call('EXISTS', keys[i]) == 0 then
          redis.call('ZREM', index, id)
          removed = removed + 1
        end
      end
    end
  end
  local next_from = from + #ids - removed
  if #ids < batch then next_from = 0 end
  if next_from ~= cursor then redis.call('HSET', K_STATS, field, next_from) end
end
`;

/**
 * How many entries of the dead index each bury checks for a record that is gone (expired).
 *
 * The index (`dead`, scored by death time) is swept round-robin: each bury checks this many
 * entries from a cursor (a rank, kept in the `stats` hash as `deadSweep`) with one EXISTS, drops
 * those whose record is gone, and moves the cursor past the live ones; at the end of the index
 * the cursor starts again from the oldest. Since a bury adds one entry and checks
 * `DEAD_SWEEP_BATCH`, a pass over the whole index takes about `size / (DEAD_SWEEP_BATCH - 1)`
 * buries, whatever the TTLs of the types (entries that retry-dead removes meanwhile may shift a
 * few entries past the cursor; the next pass reaches them). A trim by age instead (the oldest
 * entries past this task's dead TTL) stalls behind entries of a type kept longer, and never
 * reaches the expired entries of a type kept shorter. Cost per bury: HGET, ZRANGE and one EXISTS
 * over the batch, plus one EXISTS and one ZREM per gone entry and an HSET when the cursor moves.
 * `list-dead` also drops the gone ids it meets.
 */
export const DEAD_SWEEP_BATCH = 20;

/** Sending a record to dead, and setting aside a key that is not a hash at all. */
export const LUA_DEAD = `
local DEFAULT_DEAD_TTL_MS = ${DEFAULT_POLICY.deadTtlMs}
local DEAD_SWEEP_BATCH = ${DEAD_SWEEP_BATCH}

-- Sweeps the next DEAD_SWEEP_BATCH entries of the dead index.
local function sweep_dead()
  sweep_index(K_DEAD, 'deadSweep', DEAD_SWEEP_BATCH)
end

local function bury(key, id, now, message)
  local ttl = tonumber(redis.pcall('HGET', key, 'deadTtlMs')) or DEFAULT_DEAD_TTL_MS
  redis.call('HSET', key, 'state', 'dead', 'error', message, 'finishedAt', now)
  redis.call('HDEL', key, 'runAt')
  redis.call('PEXPIRE', key, ttl)
  redis.call('ZADD', K_DEAD, now, id)
  -- Drop index entries whose record has expired (see DEAD_SWEEP_BATCH).
  sweep_dead()
  redis.call('HINCRBY', K_STATS, 'dead', 1)
end

-- A task key that is not a hash: keep the bad value aside, and leave a dead record in its place.
local function bury_corrupt(key, id, now, kind)
  local aside = PREFIX .. 'corrupt:' .. id
  redis.call('RENAME', key, aside)
  redis.call('PEXPIRE', aside, DEFAULT_DEAD_TTL_MS)
  redis.call('HSET', key, 'id', id)
  bury(key, id, now, 'corrupted record: expected a hash, found a ' .. kind .. ' (kept at ' .. aside .. ')')
end
`;

/** How many due delayed tasks a claim promotes at most. */
export const PROMOTE_BATCH = 1000;
/** How many a finishing call (complete, fail) promotes at most before it leases the next task. */
export const PROMOTE_ON_FINISH = 100;

/** Moving due delayed/failed tasks into their lanes. */
export const LUA_PROMOTE = `
-- A promoted task's 'readyAt' is its due time (the score): it has waited to run since then.
local function promote_due(now, limit)
  local due = redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
  local moved = 0
  for d = 1, #due, 2 do
    local id, due_at = due[d], due[d + 1]
    redis.call('ZREM', K_DELAYED, id)
    local key = task_key(id)
    local fields = read_task(key, 'state', 'priority')
    if not fields then
      bury_corrupt(key, id, now, key_type(key))
    elseif fields[1] == 'delayed' or fields[1] == 'failed' then
      local lane = K_LANE_OF[fields[2]]
      if lane then
        redis.call('HSET', key, 'state', 'queued', 'readyAt', due_at)
        redis.call('HDEL', key, 'runAt')
        redis.call('RPUSH', lane, id)
        moved = moved + 1
      else
        bury(key, id, now, 'corrupted record: unknown priority ' .. tostring(fields[2]))
      end
    end
  end
  if moved > 0 then wake_one() end
  return moved
end
`;

/**
 * Giving a dead task a fresh set of attempts at the tail of its lane (retry-dead and the bulk
 * retry). Its `readyAt` is now: the overview measures its wait from there.
 */
export const LUA_REVIVE = `
-- Retries dead task 'id' for the retry call 'call' (a random id per call; '' for none). True
-- when it was dead (now queued), or when this same call revived it before: a call re-sent after
-- its reply was lost answers as the first did and does nothing twice, even if the task has died
-- again since. False otherwise. A dead-index entry of a task that is not dead goes.
local function revive(id, now, call)
  local key = task_key(id)
  if key_type(key) ~= 'hash' then
    redis.call('ZREM', K_DEAD, id)
    return false
  end
  if call ~= '' and redis.call('HGET', key, 'revivedBy') == call then return true end
  redis.call('ZREM', K_DEAD, id)
  if redis.call('HGET', key, 'state') ~= 'dead' then return false end
  local lane = K_LANE_OF[redis.call('HGET', key, 'priority')] or KEYS[2]
  redis.call('HSET', key, 'state', 'queued', 'attempts', 0, 'stalls', 0, 'readyAt', now)
  if call ~= '' then redis.call('HSET', key, 'revivedBy', call) end
  redis.call('HDEL', key, 'finishedAt', 'runAt', 'startedAt')
  redis.call('PERSIST', key)
  redis.call('RPUSH', lane, id)
  return true
end
`;
