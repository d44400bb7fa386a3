import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';
import { LUA_VIEWS, SUMMARY_FIELDS } from './lua-views.js';

/**
 * How many index entries beyond its page (and, with a type filter, its offset) one dead-page
 * call may examine: entries whose record is gone, or of another type.
 */
export const DEAD_PAGE_MAX_SKIPPED = 1_000;

/**
 * A page of dead letters, newest first, filtered by type and death time. Without a type filter
 * the offset is a rank in the time range (one jump, as list-dead); with one, the call walks the
 * range and skips `offset` matches first, so a deep page costs a walk of its depth, and at most
 * `offset + count + DEAD_PAGE_MAX_SKIPPED` entries are examined (the page may then be short).
 * `total` counts the dead index's entries in the time range (the type filter is not counted: that
 * would take a walk over all of it). Ids whose record is gone are dropped from the index on the
 * way with `redis.pcall` (ignored under EVAL_RO), as list-dead does, so the script is `readOnly`.
 */
export const deadPageScript = defineScript({
  name: 'dead-page',
  readOnly: true,
  header: `
dead-page: a page of dead tasks, newest first, with an optional type and death-time filter.
${COMMON_HEADER}
ARGV[2]: type ('' any)   ARGV[3]: dead at or after, ms ('' none)   ARGV[4]: dead before, ms ('' none)
ARGV[5]: offset   ARGV[6]: count
Returns: { total (entries of the dead index in the time range), then per task: id,
  ${SUMMARY_FIELDS.join(', ')} }
  At most offset (with a type filter) + count + ${DEAD_PAGE_MAX_SKIPPED} entries are examined. Ids
  whose record is gone are removed from the index (not under EVAL_RO).`,
  includes: [LUA_BASE, LUA_VIEWS],
  body: `
local want_type = ARGV[2]
local from, to = tonumber(ARGV[3]), tonumber(ARGV[4])
local offset = math.floor(math.max(0, tonumber(ARGV[5]) or 0))
local count = math.floor(math.max(0, tonumber(ARGV[6]) or 0))
local low = from and tostring(from) or '-inf'
local high = to and ('(' .. to) or '+inf'
local start = 0
if to then start = redis.call('ZCOUNT', K_DEAD, to, '+inf') end
local skip = 0
if want_type == '' then start = start + offset else skip = offset end
local out = { 0 }
local budget = skip + count + ${DEAD_PAGE_MAX_SKIPPED}
local found, at, ended = 0, start, false
while found < count and budget > 0 and not ended do
  local want = math.min(math.max(count - found + skip, 50), budget)
  local page = redis.call('ZREVRANGE', K_DEAD, at, at + want - 1, 'WITHSCORES')
  local checked, removed = 0, 0
  for p = 1, #page, 2 do
    if found == count or budget == 0 then break end
    local id = page[p]
    if from and tonumber(page[p + 1]) < from then
      ended = true
      break
    end
    budget = budget - 1
    checked = checked + 1
    local v, why = read_summary(id)
    if why == 'gone' then
      if redis.pcall('ZREM', K_DEAD, id) == 1 then removed = removed + 1 end
    elseif want_type == '' or (v and v[1] == want_type) then
      if skip > 0 then
        skip = skip - 1
      else
        push_summary(out, id, v or {})
        found = found + 1
      end
    end
  end
  if #page < want * 2 and checked * 2 == #page then ended = true end
  at = at + checked - removed
end
out[1] = redis.call('ZCOUNT', K_DEAD, low, high)
return out`,
});
