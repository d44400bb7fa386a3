import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';

/** The most ids one delete-dead (or retry-dead) call takes from the edge. */
export const DEAD_IDS_MAX = 500;

/** How long a deleted task's tombstone answers a re-sent delete call (ms). */
export const DELETE_REPLAY_MS = 10 * 60_000;

/**
 * Deletes dead tasks by id: the record goes, and its entries in the dead index and the search
 * index. Only a task that is dead is deleted; any other id is answered as not dead (its dead
 * index entry, if any, goes: it named nothing dead). The idempotency key of a deleted task is
 * kept until its own TTL, so a producer re-sending the task within that time still gets the
 * earlier id (state 'expired') rather than a new task.
 *
 * Safe to re-send: each call carries a random call id, and a deleted task leaves a tombstone
 * (`deleted:<id>`, holding that call id, for `DELETE_REPLAY_MS`), so the same call sent again
 * after its reply was lost counts the tasks it deleted as deleted again; another call answers
 * them as not dead.
 */
export const deleteDeadScript = defineScript({
  name: 'delete-dead',
  header: `
delete-dead: delete dead tasks (record, dead index entry, search index entry).
${COMMON_HEADER}
ARGV[2]: the call's id (random per call; '' for none)   ARGV[3..]: task ids
Each deleted task leaves 'deleted:<id>' = call id for ${DELETE_REPLAY_MS} ms: the same call sent
again (its reply lost) counts it as deleted again.
Returns: { deleted, then the ids that were not dead (unknown, gone, or in another state) }`,
  includes: [LUA_BASE],
  body: `
local call = ARGV[2]
local out = { 0 }
for i = 3, #ARGV do
  local id = ARGV[i]
  local key = task_key(id)
  local tombstone = PREFIX .. 'deleted:' .. id
  redis.call('ZREM', K_DEAD, id)
  if key_type(key) == 'hash' and redis.call('HGET', key, 'state') == 'dead' then
    redis.call('DEL', key)
    redis.call('ZREM', K_RECENT, id)
    if call ~= '' then redis.call('SET', tombstone, call, 'PX', ${DELETE_REPLAY_MS}) end
    out[1] = out[1] + 1
  elseif call ~= '' and redis.call('GET', tombstone) == call then
    out[1] = out[1] + 1
  else
    out[#out + 1] = id
  end
end
return out`,
});
