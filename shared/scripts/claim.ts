import { defineScript } from './define-script.js';
import { COMMON_HEADER, PROMOTE_BATCH } from './lua-common.js';
import { LUA_LEASING } from './lua-leasing.js';

/**
 * Leases up to one task per free slot token of a host (the host claims for its idle children).
 * Due delayed tasks are promoted first, so a delay is honoured to the moment a host looks.
 */
export const claimScript = defineScript({
  name: 'claim',
  header: `
claim: promote due delayed tasks, then lease the next queued task to each free slot token.
${COMMON_HEADER}
ARGV[2]: host id
ARGV[3]: lease in ms
ARGV[4]: lane order, e.g. 'hnl' (strict) or 'lhn' (a weighted draw made by the host)
ARGV[5..]: the free slot tokens of this host to fill, in order
Returns: { nextDelayedAt, leased } with leased, when a task was leased, a JSON string
  [[token, id, fields], ...]; fields: flat field/value pairs of type, payload, priority,
  attempts, maxAttempts, timeoutMs and claims (the lease id), as they are after the claim (the
  two counters as numbers); a field missing from the record is left out.
  nextDelayedAt: ms timestamp of the earliest delayed task, or -1 when there is none.
  Each token that gets a task holds its id in the host's token hash. A token that still holds a
  task leased to this host (the reply of an earlier claim was lost) gets that task again.
  Nothing is leased for a host that is not alive (registered, heartbeat unexpired).`,
  includes: [...LUA_LEASING],
  body: `
local host, lease_ms, order = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local now, now_text = now_ms_text()
promote_due(now, ${PROMOTE_BATCH})

local out = { -1 }
if host_alive(host, now) then
  local leased = fill_tokens(host, { unpack(ARGV, 5) }, order, now, now_text, lease_ms, {}, {})
  if #leased > 0 then out[2] = encode_leased(leased) end
  -- Work is left and this host is full: let another blocked host have it.
  if #leased > 0 and #leased == #ARGV - 4 and any_queued() then wake_one() end
end

local first = redis.call('ZRANGE', K_DELAYED, 0, 0, 'WITHSCORES')
if first[2] then out[1] = tonumber(first[2]) end
return out`,
});
