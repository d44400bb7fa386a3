/**
 * The operator's bookkeeping in Lua, included by the scripts that keep it: the sampled history
 * of the running totals (the dashboard's sparklines) and the search index `recent`. Both build
 * on `LUA_BASE` (K_HISTORY, K_RECENT, K_STATS, sweep_index) and are bounded and expire on their
 * own; see docs/architecture.md.
 */

/** The least time between two samples of the history (ms). */
export const HISTORY_INTERVAL_MS = 10_000;
/** The most samples the history keeps (the newest): one hour at one sample per 10 s. */
export const HISTORY_MAX_SAMPLES = 360;
/** The history's TTL, renewed by each sample: it goes when nothing samples it for this long. */
export const HISTORY_TTL_MS = 2 * 3_600_000;

/**
 * The sampled history of the running totals (`history`, a list, oldest first): each sample is
 * one string `<at> <enqueued> <succeeded> <failed> <dead>` (ms, then the totals of `stats`).
 * `sample_history(now)` appends one when the newest is `HISTORY_INTERVAL_MS` old or older, keeps
 * the newest `HISTORY_MAX_SAMPLES` and sets the TTL; otherwise it costs one LINDEX. The overview
 * snapshot and every host's heartbeat call it, so the history fills while hosts run even when
 * nobody looks. The writes go through `redis.pcall`: under EVAL_RO (a read-only gateway token
 * running the snapshot) they are refused and ignored, and nothing is written.
 */
export const LUA_HISTORY = `
local HISTORY_INTERVAL_MS = ${HISTORY_INTERVAL_MS}
local HISTORY_MAX_SAMPLES = ${HISTORY_MAX_SAMPLES}
local HISTORY_TTL_MS = ${HISTORY_TTL_MS}

local function sample_history(now)
  local last = redis.pcall('LINDEX', K_HISTORY, -1)
  if type(last) == 'string' then
    local at = tonumber(string.match(last, '^(%d+)'))
    if at and now - at < HISTORY_INTERVAL_MS and at <= now then return false end
  elseif type(last) == 'table' and last.err then
    -- Not a list: start again.
    redis.pcall('DEL', K_HISTORY)
  end
  local t = redis.pcall('HMGET', K_STATS, 'enqueued', 'succeeded', 'failed', 'dead')
  if type(t) ~= 'table' or t.err then return false end
  local sample = tostring(now)
  for i = 1, 4 do sample = sample .. ' ' .. tostring(math.floor(tonumber(t[i]) or 0)) end
  local pushed = redis.pcall('RPUSH', K_HISTORY, sample)
  if type(pushed) ~= 'number' then return false end
  if pushed > HISTORY_MAX_SAMPLES then redis.pcall('LTRIM', K_HISTORY, -HISTORY_MAX_SAMPLES, -1) end
  redis.pcall('PEXPIRE', K_HISTORY, HISTORY_TTL_MS)
  return true
end
`;

/** The most entries the search index (`recent`) keeps after a trim: the newest enqueued. */
export const RECENT_MAX = 100_000;
/**
 * Enqueue trims the index once every this many enqueued tasks (when the `enqueued` total
 * crosses a multiple of it), so the index holds at most `RECENT_MAX + RECENT_TRIM_EVERY` entries
 * (+ one batch) and the hot path pays one ZADD per call, with no ZCARD.
 */
export const RECENT_TRIM_EVERY = 1_000;
/** How many index entries each host heartbeat checks for a record that is gone. */
export const RECENT_SWEEP_BATCH = 100;

/**
 * The search index `recent` (zset: task id scored by enqueue time). Enqueue adds its tasks with
 * one ZADD and trims it now and then (`RECENT_TRIM_EVERY`); entries whose record is gone
 * (finished tasks expire after their result or dead TTL) are dropped by the searches that meet
 * them and by a rolling sweep that every host heartbeat runs (`RECENT_SWEEP_BATCH` entries from
 * a cursor kept in `stats` as `recentSweep`, as the dead index's sweep does; see
 * `DEAD_SWEEP_BATCH`). So the index expires with the tasks it names, a pass over all of it
 * taking about `size / RECENT_SWEEP_BATCH` heartbeats while hosts run.
 */
export const LUA_RECENT = `
local RECENT_MAX = ${RECENT_MAX}
local RECENT_TRIM_EVERY = ${RECENT_TRIM_EVERY}
local RECENT_SWEEP_BATCH = ${RECENT_SWEEP_BATCH}

-- Adds { score, id, score, id, ... } in one ZADD, and trims the index when the enqueued total
-- (after adding 'added') crossed a multiple of RECENT_TRIM_EVERY.
local function index_recent(members, total, added)
  if #members == 0 then return end
  redis.call('ZADD', K_RECENT, unpack(members))
  if math.floor(total / RECENT_TRIM_EVERY) ~= math.floor((total - added) / RECENT_TRIM_EVERY) then
    redis.call('ZREMRANGEBYRANK', K_RECENT, 0, -(RECENT_MAX + 1))
  end
end

-- Sweeps the next RECENT_SWEEP_BATCH entries of the recent index, oldest first.
local function sweep_recent()
  sweep_index(K_RECENT, 'recentSweep', RECENT_SWEEP_BATCH)
end
`;
