import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';

/** Reads one task record. */
export const getTaskScript = defineScript({
  name: 'get-task',
  readOnly: true,
  header: `
get-task: read a task record.
${COMMON_HEADER}
ARGV[2]: task id
Returns: HGETALL of the record (empty when there is no such task), or
  { '__corrupt', <redis type> } when the key holds something other than a hash.`,
  includes: [LUA_BASE],
  body: `
local key = task_key(ARGV[2])
local kind = key_type(key)
if kind == 'none' then return {} end
if kind ~= 'hash' then return { '__corrupt', kind } end
return redis.call('HGETALL', key)`,
});
