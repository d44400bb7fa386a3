import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';

/**
 * A worker host's presence: its entry in the hosts set, a description hash and its token list
 * (one token per free slot, the semaphore of the original design), all expiring together unless
 * the host keeps beating. A host that dies leaves nothing behind for longer than its TTL.
 */
export const registerHostScript = defineScript({
  name: 'register-host',
  header: `
register-host: (re)build a host's token list at start-up and announce the host.
${COMMON_HEADER}
ARGV[2]: host id   ARGV[3]: TTL ms   ARGV[4]: description JSON   ARGV[5..]: every slot token
Returns: the server time in ms`,
  includes: [LUA_BASE],
  body: `
local host, ttl = ARGV[2], tonumber(ARGV[3])
local now = now_ms()
local list = tokens_key(host)
redis.call('DEL', list)
for i = 5, #ARGV do redis.call('RPUSH', list, ARGV[i]) end
if #ARGV >= 5 then redis.call('PEXPIRE', list, ttl) end
redis.call('ZADD', K_HOSTS, now + ttl, host)
redis.call('ZREMRANGEBYSCORE', K_HOSTS, '-inf', now)
local info = PREFIX .. 'host:' .. host
redis.call('DEL', info)
redis.call('HSET', info, 'description', ARGV[4], 'startedAt', now)
redis.call('PEXPIRE', info, ttl)
return now`,
});

/** Keeps a host alive and makes its token list mirror the host's view of its slots. */
export const heartbeatScript = defineScript({
  name: 'heartbeat',
  header: `
heartbeat: extend a host's TTL and sync its token list with the slots it knows to be free.
${COMMON_HEADER}
ARGV[2]: host id   ARGV[3]: TTL ms   ARGV[4]: k, the number of free tokens
ARGV[5..4+k]: free tokens (made present)   ARGV[5+k..]: busy tokens (made absent)
Tokens in neither group (a claim under way) are left as they are.
Returns: { live hosts, server time ms }`,
  includes: [LUA_BASE],
  body: `
local host, ttl, k = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()
local list = tokens_key(host)
for i = 5, 4 + k do
  redis.call('LREM', list, 0, ARGV[i])
  redis.call('RPUSH', list, ARGV[i])
end
for i = 5 + k, #ARGV do redis.call('LREM', list, 0, ARGV[i]) end
redis.call('PEXPIRE', list, ttl)
redis.call('ZADD', K_HOSTS, now + ttl, host)
redis.call('PEXPIRE', PREFIX .. 'host:' .. host, ttl)
redis.call('ZREMRANGEBYSCORE', K_HOSTS, '-inf', now)
return { redis.call('ZCARD', K_HOSTS), now }`,
});

/** Removes a host that is shutting down. */
export const unregisterHostScript = defineScript({
  name: 'unregister-host',
  header: `
unregister-host: forget a host (clean shutdown).
${COMMON_HEADER}
ARGV[2]: host id
Returns: 1`,
  includes: [LUA_BASE],
  body: `
local host = ARGV[2]
redis.call('ZREM', K_HOSTS, host)
redis.call('DEL', tokens_key(host), PREFIX .. 'host:' .. host)
return 1`,
});
