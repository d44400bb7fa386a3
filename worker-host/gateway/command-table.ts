/**
 * The gateway's command table: every Redis 7.0 command and subcommand, classified once, here.
 *
 * | class | who may run it |
 * |---|---|
 * | refused | nobody: it would corrupt or stall a pooled connection, or it administers the server |
 * | any | every token, read-only ones included (Redis flags it `readonly`, or it reads no data) |
 * | full | full-access tokens only |
 *
 * Commands that run or cache Lua carry a {@link LuaUse} on top of their class; commands.ts
 * applies the script rules to them (read-only tokens, the `forklift` preset) and execute.ts
 * watches them for the script time limit.
 *
 * A command or subcommand missing from this table is refused (see {@link classify}), so a command
 * added by a newer Redis cannot slip through unclassified. test/gateway/command-table.test.ts
 * compares the table with `COMMAND DOCS` of the live Redis and fails on anything unclassified.
 */

/** Who may run a command the gateway lets through. */
export type Audience = 'any' | 'full';

/**
 * How a command involves Lua:
 * - `eval`: runs the script body in `args[1]` (EVAL, EVAL_RO);
 * - `evalsha`: runs the cached script whose SHA1 is `args[1]` (EVALSHA, EVALSHA_RO);
 * - `load`: caches the body in `args[2]` without running it (SCRIPT LOAD);
 * - `fcall`: runs a function already loaded with FUNCTION LOAD (FCALL, FCALL_RO).
 */
export type LuaUse = 'eval' | 'evalsha' | 'load' | 'fcall';

/** How the gateway treats one command (or `NAME|SUB`). */
export type CommandRule =
  | { readonly kind: 'run'; readonly audience: Audience; readonly lua?: LuaUse }
  | { readonly kind: 'refused'; readonly reason: string };

/** Commands whose second argument names a subcommand that decides the classification. */
export const CONTAINER_COMMANDS: ReadonlySet<string> = new Set([
  'ACL',
  'CLIENT',
  'CLUSTER',
  'COMMAND',
  'CONFIG',
  'FUNCTION',
  'LATENCY',
  'MEMORY',
  'MODULE',
  'OBJECT',
  'PUBSUB',
  'SCRIPT',
  'SLOWLOG',
  'XGROUP',
  'XINFO',
]);

const words = (text: string): string[] => text.trim().split(/\s+/);

/** Flagged `readonly` by Redis 7.0 (checked against the live server by a test). */
export const READ_ONLY_FLAGGED: readonly string[] = Object.freeze([
  ...words(`
    BITCOUNT BITFIELD_RO BITPOS DBSIZE DUMP EVAL_RO EVALSHA_RO EXISTS EXPIRETIME FCALL_RO GEODIST
    GEOHASH GEOPOS GEORADIUS_RO GEORADIUSBYMEMBER_RO GEOSEARCH GET GETBIT GETRANGE HEXISTS HGET
    HGETALL HKEYS HLEN HMGET HRANDFIELD HSCAN HSTRLEN HVALS KEYS LCS LINDEX LLEN LOLWUT LPOS LRANGE
    MGET PEXPIRETIME PFCOUNT PTTL RANDOMKEY SCAN SCARD SDIFF SINTER SINTERCARD SISMEMBER SMEMBERS
    SMISMEMBER SORT_RO SRANDMEMBER SSCAN STRLEN SUBSTR SUNION TOUCH TTL TYPE XLEN XPENDING XRANGE
    XREAD XREVRANGE ZCARD ZCOUNT ZDIFF ZINTER ZINTERCARD ZLEXCOUNT ZMSCORE ZRANDMEMBER ZRANGE
    ZRANGEBYLEX ZRANGEBYSCORE ZRANK ZREVRANGE ZREVRANGEBYLEX ZREVRANGEBYSCORE ZREVRANK ZSCAN ZSCORE
    ZUNION
    MEMORY|USAGE OBJECT|ENCODING OBJECT|FREQ OBJECT|IDLETIME OBJECT|REFCOUNT
    XINFO|CONSUMERS XINFO|GROUPS XINFO|STREAM`),
]);

/** Unflagged commands a read-only token may still run: they read no data, or only metadata. */
export const READ_ONLY_EXTRAS: readonly string[] = Object.freeze(
  words(`
    PING ECHO TIME SCRIPT|EXISTS FUNCTION|LIST FUNCTION|STATS FUNCTION|DUMP
    PUBSUB|CHANNELS PUBSUB|NUMSUB PUBSUB|NUMPAT PUBSUB|SHARDCHANNELS PUBSUB|SHARDNUMSUB`),
);

/**
 * Full-access tokens only: writes, and the rest of the data API. A bare container (`OBJECT`
 * without a subcommand) is listed here too: Redis answers it with an arity error (or, for
 * COMMAND, the command list).
 */
const FULL_ONLY: readonly string[] = words(`
  APPEND BITFIELD BITOP COPY DECR DECRBY DEL EVAL EVALSHA EXPIRE EXPIREAT FCALL FLUSHALL FLUSHDB
  GEOADD GEORADIUS GEORADIUSBYMEMBER GEOSEARCHSTORE GETDEL GETEX GETSET HDEL HINCRBY HINCRBYFLOAT
  HMSET HSET HSETNX INCR INCRBY INCRBYFLOAT INFO LASTSAVE LINSERT LMOVE LMPOP LPOP LPUSH LPUSHX
  LREM LSET LTRIM MOVE MSET MSETNX PERSIST PEXPIRE PEXPIREAT PFADD PFMERGE PSETEX PUBLISH RENAME
  RENAMENX RESTORE ROLE RPOP RPOPLPUSH RPUSH RPUSHX SADD SDIFFSTORE SET SETBIT SETEX SETNX SETRANGE
  SINTERSTORE SMOVE SORT SPOP SPUBLISH SREM SUNIONSTORE UNLINK XACK XADD XAUTOCLAIM XCLAIM XDEL
  XREADGROUP XSETID XTRIM ZADD ZDIFFSTORE ZINCRBY ZINTERSTORE ZMPOP ZPOPMAX ZPOPMIN ZRANGESTORE ZREM
  ZREMRANGEBYLEX ZREMRANGEBYRANK ZREMRANGEBYSCORE ZUNIONSTORE
  COMMAND COMMAND|COUNT COMMAND|DOCS COMMAND|GETKEYS COMMAND|GETKEYSANDFLAGS COMMAND|HELP
  COMMAND|INFO COMMAND|LIST
  FUNCTION FUNCTION|DELETE FUNCTION|FLUSH FUNCTION|HELP FUNCTION|LOAD FUNCTION|RESTORE
  MEMORY MEMORY|DOCTOR MEMORY|HELP MEMORY|MALLOC-STATS MEMORY|PURGE MEMORY|STATS
  OBJECT OBJECT|HELP PUBSUB PUBSUB|HELP SCRIPT SCRIPT|FLUSH SCRIPT|HELP SCRIPT|LOAD
  XGROUP XGROUP|CREATE XGROUP|CREATECONSUMER XGROUP|DELCONSUMER XGROUP|DESTROY XGROUP|HELP
  XGROUP|SETID XINFO XINFO|HELP`);

/** The Lua-running commands, on top of their class above. */
const LUA: ReadonlyMap<string, LuaUse> = new Map([
  ['EVAL', 'eval'],
  ['EVAL_RO', 'eval'],
  ['EVALSHA', 'evalsha'],
  ['EVALSHA_RO', 'evalsha'],
  ['SCRIPT|LOAD', 'load'],
  ['FCALL', 'fcall'],
  ['FCALL_RO', 'fcall'],
]);

/** Refusal reasons, shown to the caller after `is not supported by the REST gateway: `. */
export const REASONS = Object.freeze({
  blocking: 'blocking commands would stall a shared connection',
  state: 'it would change the state of a shared connection',
  monitor: 'it would turn a shared connection into a monitor stream',
  replication: 'it would turn a shared connection into a replication stream',
  pubsub: 'use POST /subscribe/<channel> or /psubscribe/<pattern> (server-sent events)',
  transaction: 'send the whole transaction to POST /multi-exec',
  admin: 'server administration is not offered over REST',
  kill: 'the gateway itself kills scripts that run past FORKLIFT_GATEWAY_SCRIPT_TIMEOUT_MS',
});

/**
 * Refused for everyone. A refused container (CLIENT, CONFIG, ...) refuses every subcommand,
 * present or future.
 */
const REFUSED: ReadonlyArray<readonly [string, string]> = [
  ...words(`BLPOP BRPOP BRPOPLPUSH BLMOVE BLMPOP BZPOPMIN BZPOPMAX BZMPOP WAIT WAITAOF`).map(
    (c) => [c, REASONS.blocking] as const,
  ),
  // Connection modes and state: a pooled connection must stay exactly as the pool made it.
  ...words(`SELECT AUTH HELLO RESET QUIT CLIENT READONLY READWRITE ASKING SCRIPT|DEBUG`).map(
    (c) => [c, REASONS.state] as const,
  ),
  ['MONITOR', REASONS.monitor],
  ...words('SYNC PSYNC REPLCONF').map((c) => [c, REASONS.replication] as const),
  ...words('SUBSCRIBE PSUBSCRIBE SSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE SUNSUBSCRIBE').map(
    (c) => [c, REASONS.pubsub] as const,
  ),
  ...words('MULTI EXEC DISCARD WATCH UNWATCH').map((c) => [c, REASONS.transaction] as const),
  // Not a data API (Upstash does not offer it either): a leaked REST token must not be able to
  // stop, reconfigure, re-point or inspect the server (SLOWLOG shows other clients' arguments).
  ...words(`
    SHUTDOWN DEBUG CONFIG MODULE ACL REPLICAOF SLAVEOF FAILOVER MIGRATE SAVE BGSAVE BGREWRITEAOF
    SWAPDB CLUSTER RESTORE-ASKING LATENCY SLOWLOG PFDEBUG PFSELFTEST`).map(
    (c) => [c, REASONS.admin] as const,
  ),
  ...words('SCRIPT|KILL FUNCTION|KILL').map((c) => [c, REASONS.kill] as const),
];

function buildTable(): ReadonlyMap<string, CommandRule> {
  const table = new Map<string, CommandRule>();
  const add = (name: string, rule: CommandRule) => {
    if (table.has(name)) throw new Error(`command table: ${name} is classified twice`);
    table.set(name, rule);
  };
  const run = (name: string, audience: Audience) => {
    const lua = LUA.get(name);
    add(name, lua === undefined ? { kind: 'run', audience } : { kind: 'run', audience, lua });
  };
  for (const name of [...READ_ONLY_FLAGGED, ...READ_ONLY_EXTRAS]) run(name, 'any');
  for (const name of FULL_ONLY) run(name, 'full');
  for (const [name, reason] of REFUSED) add(name, { kind: 'refused', reason });
  return table;
}

/** Every classified `NAME` and `NAME|SUB`, upper-case. */
export const COMMAND_TABLE: ReadonlyMap<string, CommandRule> = buildTable();

/** A classification, with the table key it came from (`NAME` or `NAME|SUB`). */
export interface Classified {
  key: string;
  rule: CommandRule;
}

/**
 * The rule for a command (upper-case `name`, and `sub` for a container command), or `null` when
 * the table does not classify it (the gateway then refuses it).
 * @example classify('SCRIPT', 'DEBUG') // { key: 'SCRIPT|DEBUG', rule: { kind: 'refused', … } }
 */
export function classify(name: string, sub: string | undefined): Classified | null {
  const own = COMMAND_TABLE.get(name);
  if (own?.kind === 'refused' || sub === undefined || !CONTAINER_COMMANDS.has(name)) {
    return own === undefined ? null : { key: name, rule: own };
  }
  const key = `${name}|${sub}`;
  const rule = COMMAND_TABLE.get(key);
  return rule === undefined ? null : { key, rule };
}

/**
 * How a command runs when the gateway fronts a Redis Cluster (`redis+cluster://`), on top of
 * its class above (which still decides who may run it):
 * - `slot` (every command not listed here): sent to the master of its keys' slot; every key
 *   must hash to one slot, else Redis's `CROSSSLOT` error, without reaching Redis. A command
 *   with no key (PING, TIME, PUBLISH, EVAL with no keys, ...) goes to any master.
 * - `each-master`: sent to every master, answered with the first master's reply when all
 *   succeed, or the first error (scripts, functions and flushes must hold on every master).
 * - `sum` / `concat` / `all-of`: sent to every master; the integer replies added up (DBSIZE),
 *   the array replies joined (KEYS), or the 0/1 arrays combined element-wise, 1 only where every
 *   master says 1 (SCRIPT EXISTS: a script is usable only where each master knows it).
 * - `refused`: answered `ERR command '<name>' is not supported by the REST gateway on a Redis
 *   Cluster: <reason>`.
 * Commands that read one server's own state (INFO, ROLE, LASTSAVE, MEMORY STATS, PUBSUB
 * CHANNELS, FUNCTION LIST, RANDOMKEY, ...) are `slot` commands with no key: one master answers.
 */
export type ClusterRule =
  | { readonly kind: 'slot' }
  | { readonly kind: 'each-master' | 'sum' | 'concat' | 'all-of' }
  | { readonly kind: 'refused'; readonly reason: string };

/** The commands that do not run by slot on a cluster (see {@link ClusterRule}), by table key. */
export const CLUSTER_RULES: ReadonlyMap<string, ClusterRule> = new Map<string, ClusterRule>([
  ...words(`SCRIPT|LOAD SCRIPT|FLUSH FUNCTION|LOAD FUNCTION|DELETE FUNCTION|FLUSH FUNCTION|RESTORE
    FLUSHDB FLUSHALL`).map((c) => [c, { kind: 'each-master' }] as const),
  ['DBSIZE', { kind: 'sum' }],
  ['KEYS', { kind: 'concat' }],
  ['SCRIPT|EXISTS', { kind: 'all-of' }],
  [
    'SCAN',
    {
      kind: 'refused',
      reason:
        'its cursor walks one server; use KEYS with a pattern, or SCAN each master with redis-cli',
    },
  ],
  ['MOVE', { kind: 'refused', reason: 'a Redis Cluster has only database 0' }],
]);

const SLOT_RULE: ClusterRule = Object.freeze({ kind: 'slot' });

/**
 * How a classified command (its table key, `NAME` or `NAME|SUB`) runs on a Redis Cluster.
 * @example clusterRule('DBSIZE') // { kind: 'sum' }
 */
export function clusterRule(key: string): ClusterRule {
  return CLUSTER_RULES.get(key) ?? SLOT_RULE;
}
