/**
 * The leasing Lua, spliced into the scripts that lease tasks and end runs (claim, finish, renew,
 * reap): a host's slot tokens, popping and leasing the next task for a token, and the ownership
 * check before a host changes an active task. It relies on `LUA_BASE`, `LUA_DEAD` and
 * `LUA_PROMOTE` (lua-common.ts), spliced before it.
 */
import { LUA_BASE, LUA_DEAD, LUA_PROMOTE } from './lua-common.js';

/**
 * A host's slot tokens (the semaphore): the hash `tokens:<host>` has one field per token, holding
 * `<task id>:<lease>` of the task leased to it, or '' when it is free. The lease (the record's
 * `claims` at the lease) tells a token's task from a later lease of the same task (after it was
 * reaped and leased again).
 *
 * The hash lives exactly as long as the host: register and heartbeat give it the expiry of the
 * host's entry in `hosts` (in the same script, from the same clock), unregister deletes both,
 * and a field is never deleted while the host lives. So a token whose field is missing belongs to
 * a host that is gone (or is no token of it), and the scripts that lease read that from the
 * token's own HGET or HSET instead of looking at `hosts` (a call saved per finish): they never
 * leave a field written for a host that is gone, so its hash stays gone and nothing is leased
 * for it.
 */
export const LUA_TOKENS = `
local function host_alive(host, now)
  local expires = tonumber(redis.call('ZSCORE', K_HOSTS, host))
  return expires ~= nil and expires > now
end

-- What a token holds: the task id and its lease; '' when it is free; nil when the token's field
-- is missing (its host is gone).
local function token_holder(host, token)
  local held = redis.call('HGET', tokens_key(host), token)
  if not held then return nil, nil end
  if held == '' then return '', nil end
  local id, lease = string.match(held, '^(.*):(%d+)$')
  if not id then return held, nil end
  return id, lease
end

-- Sets what a token holds ('' for nothing) while its host lives. False, with nothing written,
-- when the token's field was missing (the host is gone: HSET made it, so it goes again).
local function hold_token(host, token, value)
  local hash = tokens_key(host)
  if redis.call('HSET', hash, token, value) == 0 then return true end
  redis.call('HDEL', hash, token)
  return false
end
`;

/** Claiming: pop the next queued task for a slot and lease it. */
export const LUA_CLAIM = `
-- Constant tables would be built again on every call of a script (and collected after it): the
-- hot path spells its field lists out and tests states with comparisons instead.
local function known_state(s)
  return s == 'queued' or s == 'delayed' or s == 'active' or s == 'succeeded' or s == 'failed'
    or s == 'dead' or s == 'canceled'
end

-- The fields a claim reads and returns (CLAIM_FIELDS): what a child needs, and the lease
-- counters. Read in this order, from 'state' (v[1]) to 'claims' (v[8]).
local function read_claim_fields(key)
  return redis.pcall('HMGET', key, 'state', 'type', 'payload', 'priority', 'attempts',
    'maxAttempts', 'timeoutMs', 'claims')
end

local function count(value)
  if type(value) == 'string' and string.match(value, '^%d+$') then return tonumber(value) end
  return nil
end

-- Pops the next claimable id, trying lanes in 'order' (e.g. 'hnl'), and reads CLAIM_FIELDS in
-- the same step; returns id, its key, the values read and the lane it came from. Stale ids (a
-- task that is no longer queued, or gone) are dropped; non-hash keys are set aside as dead. A
-- hash with an unknown or missing state is claimed anyway, so that the host sends it to dead
-- with the decoder's message.
-- One LMPOP tries every lane in order (Redis 7.0+), so an empty lane costs no call of its own.
local function pop_next(order, now)
  local lmpop
  if order == 'hnl' then
    lmpop = { 'LMPOP', 3, KEYS[1], KEYS[2], KEYS[3], 'LEFT' }
  else
    lmpop = { 'LMPOP', 0 }
    for i = 1, #order do
      local lane = K_LANES[string.sub(order, i, i)]
      if lane then lmpop[#lmpop + 1] = lane end
    end
    lmpop[2] = #lmpop - 2
    if lmpop[2] == 0 then return nil end
    lmpop[#lmpop + 1] = 'LEFT'
  end
  while true do
    local popped = redis.call(unpack(lmpop))
    if not popped then return nil end
    local id = popped[2][1]
    local key = task_key(id)
    local v = read_claim_fields(key)
    if type(v) == 'table' and not v.err then
      local state = v[1]
      if state == 'queued' or (state and not known_state(state)) then return id, key, v, popped[1] end
      if not state and redis.call('EXISTS', key) == 1 then return id, key, v, popped[1] end
    else
      bury_corrupt(key, id, now, key_type(key))
    end
  end
end

-- Leased tasks as a reply: one JSON string [[token, id, [field, value, ...]], ...], because the
-- host decodes one bulk string many times faster than a nested array of small ones.
local function encode_leased(list) return cjson.encode(list) end

-- A leased task as a reply entry: { token, id, { field, value, ... } over CLAIM_FIELDS but
-- 'state' }, from the values v read in CLAIM_FIELDS order; a field missing from the record is
-- left out.
local function leased_entry(token, id, v)
  if v[2] and v[3] and v[4] and v[5] and v[6] and v[7] and v[8] then
    return { token, id, { 'type', v[2], 'payload', v[3], 'priority', v[4], 'attempts', v[5],
      'maxAttempts', v[6], 'timeoutMs', v[7], 'claims', v[8] } }
  end
  local names = { 'state', 'type', 'payload', 'priority', 'attempts', 'maxAttempts', 'timeoutMs',
    'claims' }
  local fields = {}
  for f = 2, #names do
    if v[f] then
      fields[#fields + 1] = names[f]
      fields[#fields + 1] = v[f]
    end
  end
  return { token, id, fields }
end

-- Leases the next task to (host, token): 5 calls (LMPOP, HMGET, the token's HSET, the record's
-- HSET, ZADD) on the hot path. Returns its reply entry, or nil when no task is queued; and true
-- when the host is gone (the token's field was missing: the popped id goes back to the head of
-- its lane untouched, and nothing is leased).
-- The lease charges the attempt it starts (a reaped or released task gets it back). A bad
-- counter does not stop the lease: the child fails the record as corrupt. Only a bad 'claims'
-- restarts at 1; a good one keeps counting, so no lease id is reused.
local function claim_for(host, token, order, now, now_text, lease_ms)
  local id, key, v, lane = pop_next(order, now)
  if not id then return nil, false end
  local claims = int_text((count(v[8]) or 0) + 1)
  if not hold_token(host, token, id .. ':' .. claims) then
    redis.call('LPUSH', lane, id)
    return nil, true
  end
  local attempts = count(v[5])
  if attempts then
    attempts = int_text(attempts + 1)
    redis.call('HSET', key, 'state', 'active', 'startedAt', now_text, 'host', host,
      'attempts', attempts, 'claims', claims)
    v[5] = attempts
  else
    redis.call('HSET', key, 'state', 'active', 'startedAt', now_text, 'host', host, 'claims', claims)
  end
  v[8] = claims
  redis.call('ZADD', K_ACTIVE, int_text(now + lease_ms), id)
  return leased_entry(token, id, v), false
end

-- Fills (host, token): leases it the next task, unless it still holds a task leased to this
-- host that the caller did not just end ('ended' is a set of ids). Such a task was leased by
-- an earlier execution of the same call, whose reply was lost (ioredis re-sends a call after a
-- reconnect, and callers retry): it is returned again, so a lost reply orphans nothing and the
-- attempt is charged once. 'may_pop' false: only that check, no new lease. 'just_freed': the
-- token held a run this very execution ended, so it cannot hold anything else (a call saved).
-- Returns entry or nil, then whether a new lease was tried, then whether the host is gone.
local function fill_token(host, token, order, now, now_text, lease_ms, ended, may_pop, just_freed)
  local held, lease = nil, nil
  if not just_freed then
    held, lease = token_holder(host, token)
    if held == nil then return nil, false, true end
    if held == '' then held = nil end
  end
  if held and not ended[held] then
    local v = read_task(task_key(held), 'host', 'state', 'type', 'payload', 'priority',
      'attempts', 'maxAttempts', 'timeoutMs', 'claims')
    if v and v[2] == 'active' and v[1] == host and v[9] == lease then
      table.remove(v, 1)
      return leased_entry(token, held, v), false, false
    end
  end
  local clear = held or just_freed
  if not may_pop then
    if clear and not hold_token(host, token, '') then return nil, false, true end
    return nil, false, false
  end
  local got, gone = claim_for(host, token, order, now, now_text, lease_ms)
  if gone then return nil, true, true end
  if not got and clear and not hold_token(host, token, '') then return nil, true, true end
  return got, true, false
end

-- Fills each of 'tokens' in order (see fill_token); once a lane pop finds nothing, the rest are
-- only checked for a task an earlier execution leased them, and once the host is found gone
-- nothing more is done. 'freed' marks tokens whose run this execution ended. Returns the leased
-- entries.
local function fill_tokens(host, tokens, order, now, now_text, lease_ms, ended, freed)
  local leased, more = {}, true
  for _, token in ipairs(tokens) do
    local got, popped, gone = fill_token(host, token, order, now, now_text, lease_ms, ended, more,
      freed[token])
    if gone then break end
    if got then
      leased[#leased + 1] = got
    elseif popped then
      more = false
    end
  end
  return leased
end
`;

/** Ownership check used before a host changes an active task, and giving a task back. */
export const LUA_OWNED = `
-- True when 'key' is active and leased to (host, lease); also returns the fields read (state,
-- host, claims, then the extra ones asked for), or nil when the key is not a hash.
local function owned(key, host, lease, ...)
  local v = read_task(key, 'state', 'host', 'claims', ...)
  if not v then return false, nil end
  return v[1] == 'active' and v[2] == host and v[3] == lease, v
end

-- How a run this host ended with this lease ended, when the fields v (as owned() read them) show
-- one: the record is no longer active but still names the host and the lease. A call re-sent
-- after a lost reply finds its runs so (reap and release clear 'host', so a lost lease never
-- does). A failed or dead task may have moved on since (promoted, retried, canceled): its run
-- ended as a failure. Returns nil when v shows no run this host ended.
local function ended_by(v, host, lease)
  if v == nil or v[1] == 'active' or v[2] ~= host or v[3] ~= lease then return nil end
  if v[1] == 'succeeded' or v[1] == 'dead' then return v[1] end
  return 'failed'
end

-- Gives a leased task back to the head of its lane without spending an attempt: the lease
-- charged one when it started, and the run never started (or did not end). 'releasedBy'
-- (<host>:<lease>) lets a release sent again after a lost reply answer as the first did.
local function give_back(key, id, lane, mark)
  redis.pcall('HINCRBY', key, 'attempts', -1)
  redis.call('HSET', key, 'state', 'queued', 'releasedBy', mark)
  redis.call('HDEL', key, 'startedAt', 'host')
  redis.call('ZREM', K_ACTIVE, id)
  redis.call('LPUSH', lane, id)
end
`;

/** Everything a script that leases tasks (claim, and finish with a next task) uses. */
export const LUA_LEASING = [LUA_BASE, LUA_DEAD, LUA_PROMOTE, LUA_TOKENS, LUA_CLAIM];
