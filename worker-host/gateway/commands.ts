/**
 * Which commands the gateway runs, for whom.
 *
 * Three independent checks, in this order:
 * 1. Refused for everyone: commands that would corrupt or stall a pooled connection (blocking
 *    commands, connection state, pub/sub mode, MULTI/EXEC outside `/multi-exec`, MONITOR,
 *    replication), and server administration (SHUTDOWN, CONFIG, DEBUG, ACL, REPLICAOF, ...).
 *    The gateway answers these itself; Redis never sees them.
 * 2. The deployment's allowlist (`FORKLIFT_GATEWAY_ALLOW`), if set.
 * 3. Read-only tokens: only commands Redis flags `readonly`, plus a few harmless ones.
 *
 * A refusal is a Redis-style error text (`ERR …` / `NOPERM …`), answered like a Redis error.
 */

/** Full access or read commands only. */
export type Access = 'full' | 'readonly';

/** A command argument as sent to Redis: text, or raw bytes (a path-style request body). */
export type CommandArg = string | Buffer;

/** The argument as text, for classification only (bytes are read as Latin-1, never fail). */
function word(arg: CommandArg | undefined): string | undefined {
  return typeof arg === 'string' || arg === undefined ? arg : arg.toString('latin1');
}

/** Commands whose second argument names a subcommand that decides the classification. */
const CONTAINER_COMMANDS: ReadonlySet<string> = new Set([
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

const BLOCKING = 'blocking commands would stall a shared connection';
const STATE = 'it would change the state of a shared connection';

/** Commands refused outright, with the reason shown to the caller. */
const REFUSED_COMMANDS: ReadonlyMap<string, string> = new Map([
  ...['BLPOP', 'BRPOP', 'BRPOPLPUSH', 'BLMOVE', 'BLMPOP', 'BZPOPMIN', 'BZPOPMAX', 'BZMPOP'].map(
    (c) => [c, BLOCKING] as const,
  ),
  ['WAIT', BLOCKING],
  ['WAITAOF', BLOCKING],
  ...['SELECT', 'AUTH', 'HELLO', 'RESET', 'QUIT', 'CLIENT', 'READONLY', 'READWRITE'].map(
    (c) => [c, STATE] as const,
  ),
  ['MONITOR', 'it would turn a shared connection into a monitor stream'],
  ...['SYNC', 'PSYNC', 'REPLCONF'].map(
    (c) => [c, 'it would turn a shared connection into a replication stream'] as const,
  ),
  ...['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE'].map(
    (c) =>
      [c, 'use POST /subscribe/<channel> or /psubscribe/<pattern> (server-sent events)'] as const,
  ),
  ...['MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH'].map(
    (c) => [c, 'send the whole transaction to POST /multi-exec'] as const,
  ),
  // Server administration is not part of a data API (Upstash does not offer it either): a
  // leaked REST token must not be able to stop, reconfigure or re-point the server.
  ...[
    'SHUTDOWN',
    'DEBUG',
    'CONFIG',
    'MODULE',
    'ACL',
    'REPLICAOF',
    'SLAVEOF',
    'FAILOVER',
    'MIGRATE',
    'SAVE',
    'BGSAVE',
    'BGREWRITEAOF',
    'SWAPDB',
  ].map((c) => [c, 'server administration is not offered over REST'] as const),
]);

/** Unflagged commands a read-only token may still run: they read no data, or only metadata. */
export const READ_ONLY_EXTRAS: readonly string[] = Object.freeze([
  'PING',
  'ECHO',
  'TIME',
  'SCRIPT|EXISTS',
  'FUNCTION|LIST',
  'FUNCTION|STATS',
  'FUNCTION|DUMP',
  'PUBSUB|CHANNELS',
  'PUBSUB|NUMSUB',
  'PUBSUB|NUMPAT',
  'PUBSUB|SHARDCHANNELS',
  'PUBSUB|SHARDNUMSUB',
  // SSE streams only: `/subscribe/<channel>` and `/psubscribe/<pattern>`
  'SUBSCRIBE',
  'PSUBSCRIBE',
]);

/**
 * Commands a read-only token may run: every Redis 7.0 command (or `NAME|SUB`) flagged
 * `readonly`, plus harmless ones that touch no data. A test checks this list against
 * `COMMAND INFO` of the live server.
 */
export const READ_ONLY_COMMANDS: ReadonlySet<string> = new Set([
  // flagged `readonly` by Redis 7.0
  ...'BITCOUNT BITFIELD_RO BITPOS DBSIZE DUMP EVAL_RO EVALSHA_RO EXISTS EXPIRETIME FCALL_RO GEODIST GEOHASH GEOPOS GEORADIUS_RO GEORADIUSBYMEMBER_RO GEOSEARCH GET GETBIT GETRANGE HEXISTS HGET HGETALL HKEYS HLEN HMGET HRANDFIELD HSCAN HSTRLEN HVALS KEYS LCS LINDEX LLEN LOLWUT LPOS LRANGE MGET PEXPIRETIME PFCOUNT PTTL RANDOMKEY SCAN SCARD SDIFF SINTER SINTERCARD SISMEMBER SMEMBERS SMISMEMBER SORT_RO SRANDMEMBER SSCAN STRLEN SUBSTR SUNION TOUCH TTL TYPE XLEN XPENDING XRANGE XREAD XREVRANGE ZCARD ZCOUNT ZDIFF ZINTER ZINTERCARD ZLEXCOUNT ZMSCORE ZRANDMEMBER ZRANGE ZRANGEBYLEX ZRANGEBYSCORE ZRANK ZREVRANGE ZREVRANGEBYLEX ZREVRANGEBYSCORE ZREVRANK ZSCAN ZSCORE ZUNION'.split(
    ' ',
  ),
  'MEMORY|USAGE',
  'OBJECT|ENCODING',
  'OBJECT|FREQ',
  'OBJECT|IDLETIME',
  'OBJECT|REFCOUNT',
  'XINFO|CONSUMERS',
  'XINFO|GROUPS',
  'XINFO|STREAM',
  ...READ_ONLY_EXTRAS,
]);

/** Command name and, for container commands, the subcommand; both upper-cased. */
export interface CommandName {
  name: string;
  sub: string | undefined;
}

/** Extracts the upper-cased command name (and subcommand of a container command). */
export function commandName(args: readonly CommandArg[]): CommandName {
  const name = (word(args[0]) ?? '').toUpperCase();
  const sub = CONTAINER_COMMANDS.has(name) ? word(args[1])?.toUpperCase() : undefined;
  return { name, sub };
}

/** `name` or `name|sub`, lower-case, as Redis prints it in errors. */
function display({ name, sub }: CommandName): string {
  return (sub === undefined ? name : `${name}|${sub}`).toLowerCase();
}

/** XREAD / XREADGROUP with a BLOCK option before STREAMS. */
function isBlockingRead(name: string, args: readonly CommandArg[]): boolean {
  if (name !== 'XREAD' && name !== 'XREADGROUP') return false;
  for (let i = 1; i < args.length; i++) {
    const option = word(args[i])?.toUpperCase();
    if (option === 'STREAMS') return false;
    if (option === 'BLOCK') return true;
  }
  return false;
}

/**
 * Why the gateway refuses this command for everyone, or `null` if it may run.
 * @example refusal(['blpop', 'q', '0']) // "ERR command 'blpop' is not supported …"
 */
export function refusal(args: readonly CommandArg[]): string | null {
  const cn = commandName(args);
  const reason = REFUSED_COMMANDS.get(cn.name) ?? (isBlockingRead(cn.name, args) ? BLOCKING : null);
  if (reason === null) return null;
  return `ERR command '${cn.name.toLowerCase()}' is not supported by the REST gateway: ${reason}`;
}

/** Whether `set` holds the command itself or its `NAME|SUB` form. */
function listed(set: ReadonlySet<string>, { name, sub }: CommandName): boolean {
  return set.has(name) || (sub !== undefined && set.has(`${name}|${sub}`));
}

/** Decides, per command, whether a caller may run it. */
export class CommandPolicy {
  /** @param allow upper-cased `NAME` / `NAME|SUB` entries, or `null` for no allowlist. */
  constructor(private readonly allow: ReadonlySet<string> | null) {}

  /**
   * The error text to answer instead of running the command, or `null` to run it.
   * `args[0]` is the command name.
   */
  check(args: readonly CommandArg[], access: Access): string | null {
    if (args.length === 0 || args[0]?.length === 0) return 'ERR empty command';
    const refused = refusal(args);
    if (refused !== null) return refused;
    return this.permission(commandName(args), access);
  }

  /** Allowlist and read-only checks only (for SSE subscribe, which is not a pooled command). */
  permission(cn: CommandName, access: Access): string | null {
    if (this.allow !== null && !listed(this.allow, cn)) {
      return `NOPERM command '${display(cn)}' is not in this gateway's allowlist`;
    }
    if (access === 'readonly' && !listed(READ_ONLY_COMMANDS, cn)) {
      return `NOPERM this user has no permissions to run the '${display(cn)}' command`;
    }
    return null;
  }
}
