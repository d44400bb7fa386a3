import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';
import { LUA_VIEWS, SUMMARY_FIELDS } from './lua-views.js';

/** The largest page of a waiting list (and of a dead-letter page). */
export const LIST_MAX_COUNT = 500;

/**
 * A page of a waiting list: one lane in FIFO order (the head, next to run, first), or the
 * delayed set by due time (soonest first; it holds failed tasks waiting for their retry too).
 * An id whose record is gone or is not a hash is skipped (the claim and promote scripts drop
 * such ids when they reach them), so a page may be short; nothing is written.
 */
export const listWaitingScript = defineScript({
  name: 'list-waiting',
  readOnly: true,
  header: `
list-waiting: a page of a lane (FIFO) or of the delayed set (by due time).
${COMMON_HEADER}
ARGV[2]: high | normal | low | delayed   ARGV[3]: offset   ARGV[4]: count (0-${LIST_MAX_COUNT})
Returns: { total (the list's length), then per task: id, ${SUMMARY_FIELDS.join(', ')} }
  Errors: 'ERR forklift: unknown list'.`,
  includes: [LUA_BASE, LUA_VIEWS],
  body: `
local list = ARGV[2]
local offset = math.floor(math.max(0, tonumber(ARGV[3]) or 0))
local count = math.floor(math.min(${LIST_MAX_COUNT}, math.max(0, tonumber(ARGV[4]) or 0)))
local out = { 0 }
local ids = {}
if list == 'delayed' then
  out[1] = redis.call('ZCARD', K_DELAYED)
  if count > 0 then ids = redis.call('ZRANGE', K_DELAYED, offset, offset + count - 1) end
elseif K_LANE_OF[list] then
  out[1] = redis.call('LLEN', K_LANE_OF[list])
  if count > 0 then ids = redis.call('LRANGE', K_LANE_OF[list], offset, offset + count - 1) end
else
  return redis.error_reply('ERR forklift: unknown list ' .. tostring(list))
end
for _, id in ipairs(ids) do
  local v = read_summary(id)
  if v then push_summary(out, id, v) end
end
return out`,
});
