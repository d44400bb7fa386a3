/**
 * Lua shared by the operator-view scripts (snapshot, search, waiting lists, dead-letter pages
 * and bulk actions): reading a task's summary fields, and resuming a walk over a sorted set
 * from a cursor.
 *
 * A summary is the id followed by `SUMMARY_FIELDS`, `SUMMARY_WIDTH` reply entries per task in
 * all; a missing field is ''. `shared/view-codec.ts` decodes it.
 */

/** The record fields of a task summary, in reply order (after the id). */
export const SUMMARY_FIELDS = [
  'type',
  'state',
  'priority',
  'attempts',
  'maxAttempts',
  'createdAt',
  'runAt',
  'finishedAt',
  'error',
  'idempotencyKey',
] as const;

/** Reply entries per task summary: the id and `SUMMARY_FIELDS`. */
export const SUMMARY_WIDTH = 1 + SUMMARY_FIELDS.length;

/** Reading and emitting summaries; cursor ranks. Needs LUA_BASE. */
export const LUA_VIEWS = `
local SUMMARY_FIELDS = { ${SUMMARY_FIELDS.map((f) => `'${f}'`).join(', ')} }

-- The summary fields of task 'id' (a table in SUMMARY_FIELDS order), or nil and why: 'gone' (no
-- record: expired or deleted) or 'corrupt' (the key is not a hash).
local function read_summary(id)
  local key = task_key(id)
  local v = redis.pcall('HMGET', key, unpack(SUMMARY_FIELDS))
  if type(v) ~= 'table' or v.err then return nil, 'corrupt' end
  if not v[1] and not v[2] and redis.call('EXISTS', key) == 0 then return nil, 'gone' end
  return v, nil
end

-- Appends id and its summary fields (missing ones as '') to 'out'.
local function push_summary(out, id, v)
  out[#out + 1] = id
  for i = 1, #SUMMARY_FIELDS do out[#out + 1] = v[i] or '' end
end

-- A cursor 'score:id' as (score string, id), or nil when it is malformed.
local function parse_position(text)
  local score, id = string.match(text or '', '^(%d+):(.+)$')
  return score, id
end

-- The rank, counted from the highest score down (ZREVRANGE order: score, then member, both
-- descending), of the first entry of 'key' after position (score, id).
local function rev_rank_after(key, score, id)
  local rank = redis.call('ZCOUNT', key, '(' .. score, '+inf')
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', key, score, score)) do
    if member >= id then rank = rank + 1 end
  end
  return rank
end

-- The rank, counted from the lowest score up (ZRANGE order), of the first entry of 'key' after
-- position (score, id).
local function rank_after(key, score, id)
  local rank = redis.call('ZCOUNT', key, '-inf', '(' .. score)
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', key, score, score)) do
    if member <= id then rank = rank + 1 end
  end
  return rank
end
`;
