import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';

/** Lists dead tasks, newest first, with what killed them. */
export const listDeadScript = defineScript({
  name: 'list-dead',
  readOnly: true,
  header: `
list-dead: a page of dead tasks, newest first.
${COMMON_HEADER}
ARGV[2]: offset   ARGV[3]: count
Returns: { total, then 5 entries per task: id, type, attempts, error, finishedAt }
  (fields of an expired record are empty strings)`,
  includes: [LUA_BASE],
  body: `
local offset, count = tonumber(ARGV[2]), tonumber(ARGV[3])
-- ZREVRANGE 0 -1 would be the whole set: a count of 0 is an empty page.
local ids = {}
if count >= 1 then ids = redis.call('ZREVRANGE', K_DEAD, offset, offset + count - 1) end
local out = { redis.call('ZCARD', K_DEAD) }
for _, id in ipairs(ids) do
  local key = task_key(id)
  local v = { false, false, false, false }
  if key_type(key) == 'hash' then v = redis.call('HMGET', key, 'type', 'attempts', 'error', 'finishedAt') end
  out[#out + 1] = id
  for j = 1, 4 do out[#out + 1] = v[j] or '' end
end
return out`,
});
