import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE, LUA_REVIVE } from './lua-common.js';

/** Gives dead tasks a fresh set of attempts, at the tail of their lane. */
export const retryDeadScript = defineScript({
  name: 'retry-dead',
  header: `
retry-dead: move dead tasks back to their lane with attempts reset to 0.
${COMMON_HEADER}
ARGV[2]: 'ids' to retry the ids in ARGV[5..], or 'oldest' to retry the oldest ARGV[3] dead tasks
ARGV[3]: how many, for 'oldest'
ARGV[4]: the call's id for 'ids' (random per call, '' for none): the same call sent again after
  its reply was lost counts the tasks it retried as retried again, and retries none twice
Returns: { retried, then the ids that were not dead (unknown, expired or in another state) }`,
  includes: [LUA_BASE, LUA_REVIVE],
  body: `
local ids = {}
if ARGV[2] == 'oldest' then
  -- ZRANGE 0 -1 would be every dead task: a count of 0 must retry none.
  local count = tonumber(ARGV[3]) or 0
  if count >= 1 then ids = redis.call('ZRANGE', K_DEAD, 0, count - 1) end
else
  for i = 5, #ARGV do ids[#ids + 1] = ARGV[i] end
end
local call = ARGV[2] == 'ids' and (ARGV[4] or '') or ''
local out = { 0 }
local now = now_ms()
for _, id in ipairs(ids) do
  if revive(id, now, call) then
    out[1] = out[1] + 1
  else
    out[#out + 1] = id
  end
end
if out[1] > 0 then wake_one() end
return out`,
});
