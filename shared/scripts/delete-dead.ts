import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';

/** The most ids one delete-dead (or retry-dead) call takes from the edge. */
export const DEAD_IDS_MAX = 500;

/**
 * Deletes dead tasks by id: the record goes, and its entries in the dead index and the search
 * index. Only a task that is dead is deleted; any other id is answered as not dead (its dead
 * index entry, if any, goes: it named nothing dead). The idempotency key of a deleted task is
 * kept until its own TTL, so a producer re-sending the task within that time still gets the
 * earlier id (state 'expired') rather than a new task.
 *
 * Safe to re-send: a re-sent call deletes nothing more; the ids it deleted the first time are
 * gone by then and answered as not dead.
 */
export const deleteDeadScript = defineScript({
  name: 'delete-dead',
  header: `
delete-dead: delete dead tasks (record, dead index entry, search index entry).
${COMMON_HEADER}
ARGV[2..]: task ids
Returns: { deleted, then the ids that were not dead (unknown, gone, or in another state) }`,
  includes: [LUA_BASE],
  body: `
local out = { 0 }
for i = 2, #ARGV do
  local id = ARGV[i]
  local key = task_key(id)
  redis.call('ZREM', K_DEAD, id)
  if key_type(key) == 'hash' and redis.call('HGET', key, 'state') == 'dead' then
    redis.call('DEL', key)
    redis.call('ZREM', K_RECENT, id)
    out[1] = out[1] + 1
  else
    out[#out + 1] = id
  end
end
return out`,
});
