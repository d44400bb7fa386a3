import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';
import { LUA_HISTORY, LUA_RECENT } from './lua-indexes.js';

/**
 * A worker host's presence: its entry in the hosts set (scored by heartbeat expiry), a
 * description hash and its token hash (one field per slot token, holding the task it is leased
 * to or '' when free: the semaphore of the original design), all expiring together unless the
 * host keeps beating. A host that dies leaves nothing behind for longer than its TTL.
 */
export const registerHostScript = defineScript({
  name: 'register-host',
  header: `
register-host: (re)build a host's token hash at start-up (every token free) and announce the host.
${COMMON_HEADER}
ARGV[2]: host id   ARGV[3]: TTL ms   ARGV[4]: description JSON   ARGV[5..]: every slot token
Returns: the server time in ms`,
  includes: [LUA_BASE],
  body: `
local host, ttl = ARGV[2], tonumber(ARGV[3])
local now = now_ms()
local hash = tokens_key(host)
redis.call('DEL', hash)
for i = 5, #ARGV do redis.call('HSET', hash, ARGV[i], '') end
if #ARGV >= 5 then redis.call('PEXPIRE', hash, ttl) end
redis.call('ZADD', K_HOSTS, now + ttl, host)
redis.call('ZREMRANGEBYSCORE', K_HOSTS, '-inf', now)
local info = PREFIX .. 'host:' .. host
redis.call('DEL', info)
redis.call('HSET', info, 'description', ARGV[4], 'startedAt', now, 'lastHeartbeatAt', now)
redis.call('PEXPIRE', info, ttl)
return now`,
});

/**
 * Keeps a host alive (its token hash is kept by the scripts that lease and end runs), records
 * its vital signs for the dashboard (last beat, live children, RSS), and does the queue's
 * periodic bookkeeping that needs no call of its own: a sample of the history when one is due
 * (see `LUA_HISTORY`) and a step of the search index's sweep (see `LUA_RECENT`).
 */
export const heartbeatScript = defineScript({
  name: 'heartbeat',
  header: `
heartbeat: extend a host's TTL. A host that was presumed dead (its TTL ran out, so its tasks
were handed on) is registered again, its token hash rebuilt with every token free if it expired.
Records lastHeartbeatAt (now), children and rssBytes in the host's hash; samples the history
when due; checks a few entries of the search index for records that are gone.
${COMMON_HEADER}
ARGV[2]: host id   ARGV[3]: TTL ms
ARGV[4]: live child processes ('' when unknown)   ARGV[5]: RSS of host and children, bytes ('' when unknown)
ARGV[6..]: every slot token
Returns: { live hosts, 1 when the host was still alive before this beat, else 0 }`,
  includes: [LUA_BASE, LUA_HISTORY, LUA_RECENT],
  body: `
local host, ttl = ARGV[2], tonumber(ARGV[3])
local now = now_ms()
local expires = tonumber(redis.call('ZSCORE', K_HOSTS, host))
local was_alive = expires ~= nil and expires > now
local hash = tokens_key(host)
if redis.call('EXISTS', hash) == 0 then
  for i = 6, #ARGV do redis.call('HSET', hash, ARGV[i], '') end
end
if #ARGV >= 6 then redis.call('PEXPIRE', hash, ttl) end
redis.call('ZADD', K_HOSTS, now + ttl, host)
local info = PREFIX .. 'host:' .. host
local vitals = { 'lastHeartbeatAt', now }
if string.match(ARGV[4] or '', '^%d+$') then
  vitals[#vitals + 1] = 'children'
  vitals[#vitals + 1] = ARGV[4]
end
if string.match(ARGV[5] or '', '^%d+$') then
  vitals[#vitals + 1] = 'rssBytes'
  vitals[#vitals + 1] = ARGV[5]
end
-- A hash that is not a hash (never written so by Forklift) is left alone.
redis.pcall('HSET', info, unpack(vitals))
redis.call('PEXPIRE', info, ttl)
redis.call('ZREMRANGEBYSCORE', K_HOSTS, '-inf', now)
sample_history(now)
sweep_recent()
return { redis.call('ZCARD', K_HOSTS), was_alive and 1 or 0 }`,
});

/** Removes a host that is shutting down. */
export const unregisterHostScript = defineScript({
  name: 'unregister-host',
  header: `
unregister-host: forget a host (clean shutdown): its entry, token hash, description and its
wake list (a wake marker sent just before the host stopped waiting would stay a minute).
${COMMON_HEADER}
ARGV[2]: host id
Returns: 1`,
  includes: [LUA_BASE],
  body: `
local host = ARGV[2]
redis.call('ZREM', K_HOSTS, host)
redis.call('DEL', tokens_key(host), PREFIX .. 'host:' .. host, PREFIX .. 'wake:' .. host)
return 1`,
});
