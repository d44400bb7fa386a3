import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';

/**
 * How many index entries whose record is gone one list-dead call may skip beyond its page: it
 * checks at most `count + LIST_DEAD_MAX_SKIPPED` entries, so a call stays bounded however many
 * expired ids lie in its way (the next call goes on past the ones this one dropped).
 */
export const LIST_DEAD_MAX_SKIPPED = 1000;

/**
 * Lists dead tasks, newest first, with what killed them.
 *
 * The dead index (`dead`) can hold ids whose record has expired (dead records have a TTL; the
 * index is trimmed a few entries per bury, see `DEAD_SWEEP_BATCH`). The page skips them and
 * fills up from older entries, so it never shows blank tasks, and removes them from the index
 * with `redis.pcall`: run as EVALSHA (as `QueueClient` runs it) it removes them; run as
 * EVALSHA_RO (a read-only gateway token) Redis refuses the removal, which is ignored, and the
 * script still answers, writing nothing. So it stays `readOnly`: safe to serve read-only.
 */
export const listDeadScript = defineScript({
  name: 'list-dead',
  readOnly: true,
  header: `
list-dead: a page of dead tasks, newest first.
${COMMON_HEADER}
ARGV[2]: offset   ARGV[3]: count
Returns: { total, then 5 entries per task: id, type, attempts, error, finishedAt }
  Ids whose record is gone (expired) are skipped and removed from the dead index (not under
  EVAL_RO / EVALSHA_RO: there the removal is refused and ignored, and nothing is written); the
  page fills up from older entries. At most count + ${LIST_DEAD_MAX_SKIPPED} entries are checked, so
  a page may be short when more gone ids than that lie in its way. total is the size of the
  index after the removals (it may still count gone ids the call did not reach). A key that
  exists but is not a hash is listed with empty fields.`,
  includes: [LUA_BASE],
  body: `
local offset = math.floor(math.max(0, tonumber(ARGV[2]) or 0))
local count = math.floor(math.max(0, tonumber(ARGV[3]) or 0))
local budget = count + ${LIST_DEAD_MAX_SKIPPED}
local out = { 0 }
local found = 0
-- The rank of the next entry to check: entries removed on the way shift the later ones up.
local at = offset
while found < count and budget > 0 do
  -- At least 50 at a time: a run of gone ids costs few ZREVRANGEs.
  local want = math.min(math.max(count - found, 50), budget)
  local ids = redis.call('ZREVRANGE', K_DEAD, at, at + want - 1)
  if #ids == 0 then break end
  local checked, removed = 0, 0
  for _, id in ipairs(ids) do
    if found == count then break end
    budget = budget - 1
    checked = checked + 1
    local key = task_key(id)
    local kind = key_type(key)
    if kind == 'none' then
      -- Refused (and ignored) in a read-only call: the entry is then only skipped.
      local gone = redis.pcall('ZREM', K_DEAD, id)
      if gone == 1 then removed = removed + 1 end
    else
      local v = { false, false, false, false }
      if kind == 'hash' then v = redis.call('HMGET', key, 'type', 'attempts', 'error', 'finishedAt') end
      out[#out + 1] = id
      for j = 1, 4 do out[#out + 1] = v[j] or '' end
      found = found + 1
    end
  end
  at = at + checked - removed
  if #ids < want then break end
end
out[1] = redis.call('ZCARD', K_DEAD)
return out`,
});
