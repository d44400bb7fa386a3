import { LUA_SHARDS } from './declare-shards.js';
import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';
import { LUA_RECENT } from './lua-indexes.js';

/** Number of ARGV entries per task in the enqueue script. */
export const ENQUEUE_FIELDS_PER_TASK = 14;

/**
 * Adds one or many tasks atomically (all or none), honouring idempotency keys and delays.
 *
 * Safe to run twice: clients re-send a call whose reply they lost (@upstash/redis retries a
 * request whose connection dropped; ioredis re-sends after a reconnect), with the same task ids.
 * The second execution recognises the records the first one wrote (same id, same stored fields)
 * and answers them as written; every other task of the request goes through the idempotency
 * check again, so a task that was a duplicate by its key is a duplicate of the same task again.
 * The answer has the same ids and duplicate flags as the first, with current states.
 */
export const enqueueScript = defineScript({
  name: 'enqueue',
  header: `
enqueue: add tasks to their lanes (or to the delayed set), all in one atomic step.
${COMMON_HEADER}
ARGV[2]: n, the number of tasks
ARGV[3]: fields per task (14), then n groups of:
  id, type, payload JSON, priority (high|normal|low), delayMs, idempotency key ('' = none),
  idempotency TTL ms, maxAttempts, timeoutMs, backoffMs, backoffMaxMs, resultTtlMs, deadTtlMs,
  maxStalls
ARGV[4 + 14n] (optional): the producer's shard count K (absent = 1): checked against the queue's
  (see declare-shards), and recorded by the first enqueue of a sharded producer
Each new task is added to the search index 'recent' (one ZADD per call; see LUA_RECENT).
Returns: flat array, 3 entries per task: id, state, duplicate (1 when an idempotency key
  already named a task: id and state are that task's; state 'expired' if its record is gone).
A replay (the client re-sent a request whose reply it lost) writes nothing more and answers as
  the first execution did: a task whose id exists, with the type, payload, priority, key and
  policy of the request, is the one the first execution wrote (answered id, current state, 0);
  a task whose id does not exist was a duplicate by its key then, and its key still names the
  same task (answered that task, 1). If its key has expired in between, it is written now.
Errors: 'ERR forklift: ...' when an argument is malformed (numbers must be decimal integers >= 0,
  an idempotency TTL > 0), an id repeats in the batch, or an id exists and holds another task (a
  different request with the same id); 'ERR forklift: shard mismatch: ...' when K differs from
  the queue's; nothing is written.`,
  includes: [LUA_BASE, LUA_RECENT, LUA_SHARDS],
  body: `
-- The state reported for a task id that exists already: 'expired' when its record is gone.
local function state_of(id)
  local v = read_task(task_key(id), 'state')
  return (v and v[1]) or 'expired'
end

-- The record fields a replayed task must match, and where the request holds each (ARGV[b + i]).
local SAME_FIELDS = { 'type', 'payload', 'priority', 'idempotencyKey', 'maxAttempts',
  'timeoutMs', 'backoffMs', 'backoffMaxMs', 'resultTtlMs', 'deadTtlMs', 'maxStalls' }
local SAME_ARGS = { 2, 3, 4, 6, 8, 9, 10, 11, 12, 13, 14 }

local n = tonumber(ARGV[2])
local width = tonumber(ARGV[3])
if not n or width ~= 14 or (#ARGV ~= 3 + n * width and #ARGV ~= 4 + n * width) then
  return redis.error_reply('ERR forklift: bad enqueue arguments')
end
local shards = tonumber(ARGV[4 + n * width] or '1')
if not shards or shards < 1 then return redis.error_reply('ERR forklift: bad shard count') end
local shard_problem = shards_problem(shards)
if shard_problem then return redis.error_reply(shard_problem) end

-- Validate everything before the first write, so a bad batch writes nothing. Numbers must be
-- decimal integers: Redis would reject a TTL of '1.5', '-1' or '1e3' half-way through the batch.
local seen = {}
local keys = {}
for i = 0, n - 1 do
  local b = 3 + i * width
  local id, prio = ARGV[b + 1], ARGV[b + 4]
  if not id or id == '' then return redis.error_reply('ERR forklift: task ' .. i .. ' has no id') end
  if not K_LANE_OF[prio] then
    return redis.error_reply('ERR forklift: task ' .. i .. ' has unknown priority ' .. tostring(prio))
  end
  for f = 5, 14 do
    if f ~= 6 and not string.match(ARGV[b + f], '^%d+$') then
      return redis.error_reply('ERR forklift: task ' .. i .. ' field ' .. f .. ' is not a non-negative integer')
    end
  end
  if ARGV[b + 6] ~= '' and tonumber(ARGV[b + 7]) == 0 then
    return redis.error_reply('ERR forklift: task ' .. i .. ' field 7 (idempotency TTL) must be positive')
  end
  if seen[id] then return redis.error_reply('ERR forklift: task id ' .. id .. ' appears twice') end
  seen[id] = true
  keys[#keys + 1] = task_key(id)
end
-- How many of the ids exist already: one EXISTS per 1000 keys (the ids are distinct). None, on
-- every first execution.
local existing_ids = 0
for first = 1, #keys, 1000 do
  existing_ids = existing_ids + redis.call('EXISTS', unpack(keys, first, math.min(first + 999, #keys)))
end
-- A replay: the state of each task the first execution wrote (by index). An existing id whose
-- record does not hold this very task is an error (ids are made once per request, so it is not
-- a replay but a collision).
local written_before = {}
if existing_ids > 0 then
  for i = 0, n - 1 do
    local b = 3 + i * width
    local key = keys[i + 1]
    if redis.call('EXISTS', key) == 1 then
      local v = read_task(key, 'state', unpack(SAME_FIELDS))
      local differs = nil
      if not v then
        differs = 'the key is not a hash'
      else
        for j = 1, #SAME_FIELDS do
          if (v[j + 1] or '') ~= ARGV[b + SAME_ARGS[j]] then
            differs = 'field ' .. SAME_FIELDS[j] .. ' differs'
            break
          end
        end
      end
      if differs then
        return redis.error_reply('ERR forklift: task ' .. i .. ' (id ' .. ARGV[b + 1] ..
          ') already exists and holds another task (' .. differs .. '); nothing was written')
      end
      written_before[i] = v[1] or 'expired'
    end
  end
end

local now, now_text = now_ms_text()
local out = {}
local added = 0
-- The search index's new entries: { now, id, now, id, ... }, added with one ZADD. Times and
-- counters are written as text (see now_ms_text): a Lua number costs a '%.14g' format each.
local recent = {}
for i = 0, n - 1 do
  local b = 3 + i * width
  local id, idem = ARGV[b + 1], ARGV[b + 6]
  local existing = nil
  if written_before[i] then
    existing = id
  elseif idem ~= '' then
    local ikey = PREFIX .. 'idem:' .. idem
    if not redis.call('SET', ikey, id, 'NX', 'PX', ARGV[b + 7]) then
      existing = redis.call('GET', ikey)
    end
  end
  if existing then
    out[#out + 1] = existing
    if written_before[i] then
      out[#out + 1] = written_before[i]
    else
      out[#out + 1] = state_of(existing)
    end
    -- A key that names this very task (its record expired since): it was not a duplicate.
    if existing == id then out[#out + 1] = 0 else out[#out + 1] = 1 end
  else
    local key = task_key(id)
    local delay = tonumber(ARGV[b + 5])
    local state = 'queued'
    if delay > 0 then state = 'delayed' end
    local fields = {
      'id', id, 'type', ARGV[b + 2], 'payload', ARGV[b + 3], 'priority', ARGV[b + 4],
      'state', state, 'attempts', '0', 'claims', '0', 'stalls', '0',
      'maxAttempts', ARGV[b + 8], 'timeoutMs', ARGV[b + 9], 'backoffMs', ARGV[b + 10],
      'backoffMaxMs', ARGV[b + 11], 'resultTtlMs', ARGV[b + 12], 'deadTtlMs', ARGV[b + 13],
      'maxStalls', ARGV[b + 14], 'createdAt', now_text }
    if idem ~= '' then
      fields[#fields + 1] = 'idempotencyKey'
      fields[#fields + 1] = idem
    end
    if delay > 0 then
      fields[#fields + 1] = 'runAt'
      fields[#fields + 1] = int_text(now + delay)
    end
    -- One HSET with every field.
    redis.call('HSET', key, unpack(fields))
    if delay > 0 then
      redis.call('ZADD', K_DELAYED, int_text(now + delay), id)
    else
      redis.call('RPUSH', K_LANE_OF[ARGV[b + 4]], id)
    end
    added = added + 1
    recent[#recent + 1] = now_text
    recent[#recent + 1] = id
    out[#out + 1] = id
    out[#out + 1] = state
    out[#out + 1] = 0
  end
end
if added > 0 then
  local total = redis.pcall('HINCRBY', K_STATS, 'enqueued', added)
  if type(total) ~= 'number' then total = added end
  index_recent(recent, total, added)
  wake_one()
end
declare_shards(shards)
return out`,
});
