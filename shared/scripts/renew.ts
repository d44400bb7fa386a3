import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';
import { LUA_OWNED } from './lua-leasing.js';

/** Extends the leases of a host's running tasks, in one call for all of them. */
export const renewScript = defineScript({
  name: 'renew',
  header: `
renew: push back the lease deadline of tasks a host is still running.
${COMMON_HEADER}
ARGV[2]: host id   ARGV[3]: lease ms   ARGV[4..]: pairs of task id, lease
Returns: the ids whose lease this host has lost (reaped, or its record gone). A run this host
  ended meanwhile (its record no longer active but still naming the host and lease) is not lost.`,
  includes: [LUA_BASE, LUA_OWNED],
  body: `
local host, deadline = ARGV[2], now_ms() + tonumber(ARGV[3])
local lost = {}
for i = 4, #ARGV, 2 do
  local id, lease = ARGV[i], ARGV[i + 1]
  local mine, v = owned(task_key(id), host, lease)
  if mine then
    redis.call('ZADD', K_ACTIVE, 'XX', deadline, id)
  elseif not ended_by(v, host, lease) then
    lost[#lost + 1] = id
  end
end
return lost`,
});
