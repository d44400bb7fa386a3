import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';
import { LUA_VIEWS, SUMMARY_FIELDS } from './lua-views.js';

/** The most index entries one search call examines; the page may then be short. */
export const SEARCH_MAX_EXAMINED = 1_000;
/** The largest page a search returns. */
export const SEARCH_MAX_LIMIT = 200;

/**
 * Searches recently enqueued tasks, newest first, through the search index `recent` (task ids
 * scored by enqueue time; see `LUA_RECENT` for its bounds). Filters: type, current state, and an
 * enqueue-time range, which narrows the walk itself (its entries are found by score). Each call
 * examines at most `SEARCH_MAX_EXAMINED` entries, so a page may hold fewer matches than asked
 * (even none) with a cursor to go on; the cursor is the position (score and id) of the last entry
 * examined, so entries enqueued meanwhile do not shift the pages.
 *
 * Ids whose record is gone are dropped from the index on the way (with `redis.pcall`, ignored
 * under EVAL_RO: then they are only skipped), so the script is `readOnly`.
 */
export const searchTasksScript = defineScript({
  name: 'search-tasks',
  readOnly: true,
  header: `
search-tasks: a page of recently enqueued tasks matching a filter, newest first.
${COMMON_HEADER}
ARGV[2]: type ('' any)   ARGV[3]: state ('' any)
ARGV[4]: enqueued at or after, ms ('' none)   ARGV[5]: enqueued before, ms ('' none)
ARGV[6]: cursor from the previous page ('' from the newest)   ARGV[7]: limit (1-${SEARCH_MAX_LIMIT})
Returns: { cursor ('' when the walk reached the end), then per task: id, ${SUMMARY_FIELDS.join(', ')} }
  At most ${SEARCH_MAX_EXAMINED} index entries are examined per call. Ids whose record is gone
  are removed from the index (not under EVAL_RO). Errors: 'ERR forklift: bad cursor'.`,
  includes: [LUA_BASE, LUA_VIEWS],
  body: `
local want_type, want_state = ARGV[2], ARGV[3]
local from, to = tonumber(ARGV[4]), tonumber(ARGV[5])
local limit = math.floor(math.min(${SEARCH_MAX_LIMIT}, math.max(1, tonumber(ARGV[7]) or 50)))
local at = 0
if ARGV[6] ~= '' then
  local score, id = parse_position(ARGV[6])
  if not score then return redis.error_reply('ERR forklift: bad cursor') end
  at = rev_rank_after(K_RECENT, score, id)
end
-- 'to' is exclusive: entries at or after it come first in this order and are passed over.
if to then at = math.max(at, redis.call('ZCOUNT', K_RECENT, to, '+inf')) end

local out = { '' }
local budget, found = ${SEARCH_MAX_EXAMINED}, 0
local last = nil
local ended = false
while found < limit and budget > 0 and not ended do
  local want = math.min(100, budget)
  local page = redis.call('ZREVRANGE', K_RECENT, at, at + want - 1, 'WITHSCORES')
  local checked, removed = 0, 0
  for p = 1, #page, 2 do
    if found == limit or budget == 0 then break end
    local id, score = page[p], page[p + 1]
    if from and tonumber(score) < from then
      ended = true
      break
    end
    budget = budget - 1
    checked = checked + 1
    last = score .. ':' .. id
    local v, why = read_summary(id)
    if why == 'gone' then
      if redis.pcall('ZREM', K_RECENT, id) == 1 then removed = removed + 1 end
    elseif v and (want_type == '' or v[1] == want_type) and (want_state == '' or v[2] == want_state) then
      push_summary(out, id, v)
      found = found + 1
    end
  end
  -- Fewer entries than asked, all examined: the end of the index.
  if #page < want * 2 and checked * 2 == #page then ended = true end
  at = at + checked - removed
end
if not ended and last then out[1] = last end
return out`,
});
