import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE, LUA_OWNED, LUA_TOKENS } from './lua-common.js';

/**
 * Hands tasks a host holds back to the head of their lanes without spending an attempt: used at
 * shutdown for runs that did not finish in the grace period, and for prefetched tasks that a
 * child never started.
 */
export const releaseScript = defineScript({
  name: 'release',
  header: `
release: put leased tasks back at the head of their lane, refunding the attempt.
${COMMON_HEADER}
ARGV[2]: host id   ARGV[3..]: triples of task id, lease, slot token (in the order they should run)
Tasks whose lease this host no longer holds are skipped. Each token goes back on the host's list.
Returns: the number of tasks released`,
  includes: [LUA_BASE, LUA_TOKENS, LUA_OWNED],
  body: `
local host = ARGV[2]
local now = now_ms()
local released = 0
-- Walk backwards so that LPUSH leaves the first one at the head.
local last = 3 + math.floor((#ARGV - 2) / 3) * 3 - 3
local tokens = {}
for i = last, 3, -3 do
  local id, lease, token = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local key = task_key(id)
  local mine, v = owned(key, host, lease, 'priority')
  if mine then
    local lane = K_LANE_OF[v[4]] or KEYS[2]
    redis.pcall('HINCRBY', key, 'attempts', -1)
    redis.call('HSET', key, 'state', 'queued')
    redis.call('HDEL', key, 'startedAt')
    redis.call('ZREM', K_ACTIVE, id)
    redis.call('LPUSH', lane, id)
    released = released + 1
  end
  tokens[#tokens + 1] = token
end
give_tokens(host, tokens, now)
if released > 0 then wake_one() end
return released`,
});
