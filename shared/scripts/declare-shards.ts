import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';

/**
 * The shard-count guard (see shared/shards.ts). A queue's shard count is stored in the `shards`
 * field of each shard's stats hash (and of the plain `{<queue>}` stats hash, so a one-shard
 * client meets it too) at first use by a sharded client; absent means 1 once the queue has had a
 * task (its `enqueued` total), and undeclared before. The enqueue script
 * checks it in the same call (no extra round trip); hosts check it once per shard at start-up
 * with `declare-shards`.
 */
export const LUA_SHARDS = `
-- The shard-count mismatch error for a client of 'want' shards, or nil when it matches. A queue
-- (shard) with no recorded count is declared with 1 shard once it has had a task, and not yet
-- declared (any count matches) before that.
local function shards_problem(want)
  local v = redis.pcall('HMGET', K_STATS, 'shards', 'enqueued')
  if type(v) ~= 'table' or v.err then v = {} end
  local declared = type(v[1]) == 'string' and tonumber(v[1]) or nil
  if not declared and type(v[2]) == 'string' and (tonumber(v[2]) or 0) > 0 then declared = 1 end
  if declared and declared ~= want then
    return 'ERR forklift: shard mismatch: the queue is declared with ' .. declared ..
      ' shard(s), this client uses ' .. want
  end
  return nil
end

-- Records the shard count of a sharded queue (a one-shard queue writes nothing).
local function declare_shards(want)
  if want > 1 then redis.call('HSETNX', K_STATS, 'shards', want) end
end`;

/** Checks (and on first use records) the shard count a client uses against the queue's. */
export const declareShardsScript = defineScript({
  name: 'declare-shards',
  header: `
declare-shards: check a client's shard count against the one recorded for the queue (absent:
1 once the queue has had a task, else undeclared), and record it on first use when more than 1.
${COMMON_HEADER}
ARGV[2]: the client's shard count K (1 for the plain queue)
ARGV[3] (optional): 'check' to check only, recording nothing
Returns: K
Errors: 'ERR forklift: shard mismatch: ...' when the recorded count differs; nothing is written.`,
  includes: [LUA_BASE, LUA_SHARDS],
  body: `
local want = tonumber(ARGV[2])
if not want or want < 1 then return redis.error_reply('ERR forklift: bad shard count') end
local problem = shards_problem(want)
if problem then return redis.error_reply(problem) end
if ARGV[3] ~= 'check' then declare_shards(want) end
return want`,
});
