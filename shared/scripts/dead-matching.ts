import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE, LUA_REVIVE } from './lua-common.js';
import { LUA_VIEWS } from './lua-views.js';

/** The most dead tasks one bulk call retries or deletes. */
export const BULK_CHUNK = 200;
/** The most dead-index entries one bulk call examines (matching or not). */
export const BULK_MAX_EXAMINED = 1_000;

/**
 * Retries or deletes every dead task matching a filter (type, death-time range), a chunk per
 * call so Redis never blocks: each call acts on at most `BULK_CHUNK` tasks and examines at most
 * `BULK_MAX_EXAMINED` entries, oldest first, and returns a cursor to go on from. The first call
 * pins the end of the range to its own time (or the filter's `to`, if earlier) in the cursor, so
 * tasks that die while the loop runs (a retried task failing again, say) are not taken up again
 * and the loop ends. Retry works as retry-dead does; delete as delete-dead does.
 *
 * Safe to re-send: a re-sent call with the same cursor goes on from the same position; the tasks
 * the first execution handled have left the dead index, so nothing is handled twice.
 */
export const deadMatchingScript = defineScript({
  name: 'dead-matching',
  header: `
dead-matching: retry or delete the next chunk of dead tasks matching a filter, oldest first.
${COMMON_HEADER}
ARGV[2]: 'retry' or 'delete'   ARGV[3]: type ('' any)
ARGV[4]: dead at or after, ms ('' none)   ARGV[5]: dead before, ms ('' none)
ARGV[6]: cursor from the previous call ('' to start)   ARGV[7]: chunk (1-${BULK_CHUNK})
Returns: { processed, done (1 or 0), cursor ('' when done) }
  At most chunk tasks are handled and ${BULK_MAX_EXAMINED} entries examined per call. Entries
  whose record is gone, or is not dead, leave the index on the way.
  Errors: 'ERR forklift: bad action', 'ERR forklift: bad cursor'.`,
  includes: [LUA_BASE, LUA_REVIVE, LUA_VIEWS],
  body: `
local action, want_type = ARGV[2], ARGV[3]
if action ~= 'retry' and action ~= 'delete' then
  return redis.error_reply('ERR forklift: bad action ' .. tostring(action))
end
local from, to = tonumber(ARGV[4]), tonumber(ARGV[5])
local chunk = math.floor(math.min(${BULK_CHUNK}, math.max(1, tonumber(ARGV[7]) or ${BULK_CHUNK})))
local now = now_ms()
local upper, at
if ARGV[6] == '' then
  upper = now + 1
  if to and to < upper then upper = to end
  at = 0
  if from then at = redis.call('ZCOUNT', K_DEAD, '-inf', '(' .. from) end
else
  local pinned, rest = string.match(ARGV[6], '^(%d+):(.+)$')
  local score, id = parse_position(rest)
  if not score then return redis.error_reply('ERR forklift: bad cursor') end
  upper = tonumber(pinned)
  at = rank_after(K_DEAD, score, id)
end

local processed, budget, ended, last = 0, ${BULK_MAX_EXAMINED}, false, nil
while processed < chunk and budget > 0 and not ended do
  local want = math.min(100, budget)
  local page = redis.call('ZRANGE', K_DEAD, at, at + want - 1, 'WITHSCORES')
  local checked, removed = 0, 0
  for p = 1, #page, 2 do
    if processed == chunk or budget == 0 then break end
    local id, score = page[p], page[p + 1]
    if tonumber(score) >= upper then
      ended = true
      break
    end
    budget = budget - 1
    checked = checked + 1
    last = score .. ':' .. id
    local key = task_key(id)
    local v = read_task(key, 'state', 'type')
    if not v or v[1] ~= 'dead' then
      -- Gone, not a hash, or no longer dead: the entry names nothing dead.
      redis.call('ZREM', K_DEAD, id)
      removed = removed + 1
    elseif want_type == '' or v[2] == want_type then
      if action == 'retry' then
        revive(id, now, '')
      else
        redis.call('DEL', key)
        redis.call('ZREM', K_DEAD, id)
        redis.call('ZREM', K_RECENT, id)
      end
      removed = removed + 1
      processed = processed + 1
    end
  end
  if #page < want * 2 and checked * 2 == #page then ended = true end
  at = at + checked - removed
end
if action == 'retry' and processed > 0 then wake_one() end
if ended or not last then return { processed, 1, '' } end
return { processed, 0, upper .. ':' .. last }`,
});
