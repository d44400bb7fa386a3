import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';
import { LUA_HISTORY } from './lua-indexes.js';

/**
 * Everything the overview and hosts pages show, read in one step (one round trip per refresh):
 * lane sizes and how long each lane's head has waited, the set sizes, the running totals, every
 * live host with its vital signs and slot counts, and the sampled history.
 *
 * The head's wait is `now - readyAt` when the record has `readyAt` (written when a delayed or
 * failed task is promoted, its due time; when a dead task is retried or a task is run now, that
 * moment), else `now - createdAt` (enqueued straight into its lane). A task given back to the
 * head of its lane (its host died, or shut down before running it) keeps the time it first
 * became ready.
 *
 * A host's slots come from its token hash: tokens are named `<slot>.<k>` (worker-host/pool), and
 * a token holding a task is in use. A slot with no token in use is free; a slot with n ≥ 1 is one
 * busy slot and n - 1 prefetched tasks (its child runs one task at a time).
 *
 * It also samples the history when a sample is due (see `LUA_HISTORY`), with `redis.pcall`: under
 * EVAL_RO the sample is refused and ignored and nothing is written, so the script is `readOnly`.
 */
export const snapshotScript = defineScript({
  name: 'snapshot',
  readOnly: true,
  header: `
snapshot: the overview of a queue in one call; samples the history first when a sample is due.
${COMMON_HEADER}
Returns: { now,
  { { high size, head wait ms or -1 }, { normal ... }, { low ... } },
  delayed, active,
  { enqueued, succeeded, failed, dead, canceled }   (running totals),
  dead kept (ZCARD dead),
  { { host id, expires at, description JSON, startedAt, lastHeartbeatAt, children, rssBytes,
      free slots, busy slots, prefetched }, ... }   (live hosts; unknown values ''),
  { history samples, oldest first: '<at> <enqueued> <succeeded> <failed> <dead>' } }`,
  includes: [LUA_BASE, LUA_HISTORY],
  body: `
local now = now_ms()
sample_history(now)

local lanes = {}
for i = 1, 3 do
  local size = redis.call('LLEN', KEYS[i])
  local wait = -1
  if size > 0 then
    local v = read_task(task_key(redis.call('LINDEX', KEYS[i], 0)), 'readyAt', 'createdAt')
    local since = v and (tonumber(v[1]) or tonumber(v[2]))
    if since then wait = math.max(0, now - since) end
  end
  lanes[i] = { size, wait }
end

local t = redis.pcall('HMGET', K_STATS, 'enqueued', 'succeeded', 'failed', 'dead', 'canceled')
local totals = {}
for i = 1, 5 do totals[i] = (type(t) == 'table' and not t.err and tonumber(t[i])) or 0 end

local hosts = {}
local live = redis.call('ZRANGEBYSCORE', K_HOSTS, '(' .. now, '+inf', 'WITHSCORES')
for h = 1, #live, 2 do
  local host = live[h]
  local info = redis.pcall('HMGET', PREFIX .. 'host:' .. host, 'description', 'startedAt',
    'lastHeartbeatAt', 'children', 'rssBytes')
  if type(info) ~= 'table' or info.err then info = {} end
  local tokens = redis.pcall('HGETALL', tokens_key(host))
  if type(tokens) ~= 'table' or tokens.err then tokens = {} end
  local held, slots = {}, {}
  for i = 1, #tokens, 2 do
    local slot = string.match(tokens[i], '^(.-)%.') or tokens[i]
    if not slots[slot] then
      slots[slot] = true
      held[slot] = 0
    end
    if tokens[i + 1] ~= '' then held[slot] = held[slot] + 1 end
  end
  local free, busy, prefetched = 0, 0, 0
  for _, n in pairs(held) do
    if n == 0 then
      free = free + 1
    else
      busy = busy + 1
      prefetched = prefetched + n - 1
    end
  end
  hosts[#hosts + 1] = { host, tonumber(live[h + 1]), info[1] or '', info[2] or '', info[3] or '',
    info[4] or '', info[5] or '', free, busy, prefetched }
end

local history = redis.pcall('LRANGE', K_HISTORY, 0, -1)
if type(history) ~= 'table' or history.err then history = {} end

return { now, lanes, redis.call('ZCARD', K_DELAYED), redis.call('ZCARD', K_ACTIVE), totals,
  redis.call('ZCARD', K_DEAD), hosts, history }`,
});
