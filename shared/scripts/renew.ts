import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE, LUA_OWNED } from './lua-common.js';

/** Extends the leases of a host's running tasks, in one call for all of them. */
export const renewScript = defineScript({
  name: 'renew',
  header: `
renew: push back the lease deadline of tasks a host is still running.
${COMMON_HEADER}
ARGV[2]: host id   ARGV[3]: lease ms   ARGV[4..]: pairs of task id, lease
Returns: the ids whose lease this host no longer holds (reaped, canceled, claimed again).`,
  includes: [LUA_BASE, LUA_OWNED],
  body: `
local host, deadline = ARGV[2], now_ms() + tonumber(ARGV[3])
local lost = {}
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  if owned(task_key(id), host, ARGV[i + 1]) then
    redis.call('ZADD', K_ACTIVE, 'XX', deadline, id)
  else
    lost[#lost + 1] = id
  end
end
return lost`,
});
