import { defineScript } from './define-script.js';
import { COMMON_HEADER, LUA_BASE } from './lua-common.js';
import { LUA_VIEWS, SUMMARY_FIELDS } from './lua-views.js';

/**
 * Finds the task an idempotency key names: the key's id, then that task's summary. Nothing when
 * the key has expired (its TTL, 24 h by default) or its task's record is gone.
 */
export const findByKeyScript = defineScript({
  name: 'find-by-key',
  readOnly: true,
  header: `
find-by-key: the task an idempotency key names.
${COMMON_HEADER}
ARGV[2]: idempotency key
Returns: { id, ${SUMMARY_FIELDS.join(', ')} }, or {} when the key or its task's record is gone
  (or the task key is not a hash).`,
  includes: [LUA_BASE, LUA_VIEWS],
  body: `
local id = redis.pcall('GET', PREFIX .. 'idem:' .. ARGV[2])
if type(id) ~= 'string' then return {} end
local v = read_summary(id)
if not v then return {} end
local out = {}
push_summary(out, id, v)
return out`,
});
