/**
 * Every Redis key Forklift uses is built here, and nowhere else.
 *
 * All keys of one queue share the hash tag `{<queue>}`, so a queue lives in one Redis Cluster
 * slot and every multi-key Lua script runs on Cluster as on a single Redis. A queue declared
 * with K > 1 shards (shards.ts) has K such sets, one per hash tag `{<queue>#<i>}` (`q` below
 * stands for either); no script touches two:
 *
 * | key                                | type   | holds                                                |
 * |------------------------------------|--------|------------------------------------------------------|
 * | `forklift:{q}:lane:high|normal|low`| list   | ids of `queued` tasks, FIFO                          |
 * | `forklift:{q}:delayed`             | zset   | ids of `delayed` and `failed` tasks, scored by run-at|
 * | `forklift:{q}:active`              | zset   | ids of `active` tasks, scored by lease deadline (ms) |
 * | `forklift:{q}:dead`                | zset   | ids of `dead` tasks, scored by death time (ms)       |
 * | `forklift:{q}:stats`               | hash   | running totals: enqueued, succeeded, failed, ...; the dead- and recent-index sweep positions |
 * | `forklift:{q}:recent`              | zset   | ids of recently enqueued tasks, scored by enqueue time (ms): the search index, at most `RECENT_MAX` (+ `RECENT_TRIM_EVERY`) entries; ids whose record is gone are dropped by searches and by the hosts' sweep |
 * | `forklift:{q}:history`             | list   | samples of the running totals, one per `HISTORY_INTERVAL_MS` at most, the newest `HISTORY_MAX_SAMPLES`; TTL `HISTORY_TTL_MS` |
 * | `forklift:{q}:signal`              | list   | at most one wake-up marker for blocked hosts (BLPOP) |
 * | `forklift:{q}:hosts`               | zset   | live worker hosts, scored by heartbeat expiry (ms)   |
 * | `forklift:{q}:host:<host>`         | hash   | a host's description (pid, concurrency, ...), start, last heartbeat, children, RSS; TTL |
 * | `forklift:{q}:tokens:<host>`       | hash   | a host's slot tokens: `<task id>:<lease>` or '', TTL |
 * | `forklift:{q}:wake:<host>`         | list   | a host's own wake-up marker (BLPOP'd with signal), TTL|
 * | `forklift:{q}:task:<id>`           | hash   | the task record; TTL once finished                   |
 * | `forklift:{q}:idem:<key>`          | string | task id for an idempotency key, TTL                  |
 * | `forklift:{q}:corrupt:<id>`        | any    | a task key that was not a hash, set aside, TTL       |
 * | `forklift:{q}:deleted:<id>`        | string | tombstone of a deleted dead task: the delete call's id, 10 min TTL |
 *
 * `recent` and `history` are not among the scripts' KEYS: the scripts that use them build them
 * from the prefix (ARGV[1]), as they build per-task keys, so every other script's call stays as
 * it was. They share the hash tag all the same.
 */

/** Characters allowed in a queue name: they must not break the hash tag or the key layout. */
export const QUEUE_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Characters allowed in a key namespace (the part before the hash tag). */
export const NAMESPACE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The fixed keys of one queue, in the order every engine script receives them as KEYS. */
export interface QueueKeys {
  /** The common prefix, `forklift:{<queue>}:`; scripts build per-task keys from it. */
  readonly prefix: string;
  readonly laneHigh: string;
  readonly laneNormal: string;
  readonly laneLow: string;
  readonly delayed: string;
  readonly active: string;
  readonly dead: string;
  readonly stats: string;
  readonly signal: string;
  readonly hosts: string;
  /** The search index: recently enqueued task ids scored by enqueue time (zset). */
  readonly recent: string;
  /** The sampled history of the running totals (list, with a TTL). */
  readonly history: string;
  /** KEYS[1..9] of every engine script (see `shared/scripts/lua-common.ts`). */
  readonly scriptKeys: readonly string[];
  /** The record of task `id`. */
  task(id: string): string;
  /** The idempotency key `key`. */
  idempotency(key: string): string;
  /** The token hash of worker host `hostId`: each slot token and the task it holds ('' free). */
  tokens(hostId: string): string;
  /** The description hash of worker host `hostId`. */
  host(hostId: string): string;
  /** The private wake-up list of worker host `hostId` (it blocks on it with `signal`). */
  wake(hostId: string): string;
}

/**
 * Builds the keys of queue `queue`. `namespace` (default `forklift`) lets tests and several
 * deployments share one Redis without seeing each other. `shard` (0 to K-1) builds the keys of
 * one shard of a queue declared with K > 1 shards: hash tag `{<queue>#<shard>}` (see shards.ts);
 * without it, the keys of the plain queue, `{<queue>}`.
 *
 * @throws TypeError when the queue name or namespace has characters outside [A-Za-z0-9_.-].
 */
export function queueKeys(queue: string, namespace = 'forklift', shard?: number): QueueKeys {
  if (!QUEUE_NAME_PATTERN.test(queue)) {
    throw new TypeError(
      `Invalid queue name ${JSON.stringify(queue)}: use 1-64 characters of A-Z a-z 0-9 _ . -`,
    );
  }
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new TypeError(`Invalid key namespace ${JSON.stringify(namespace)}`);
  }
  if (shard !== undefined && !(Number.isInteger(shard) && shard >= 0 && shard < 64)) {
    throw new TypeError(`Invalid shard index ${shard}`);
  }
  const tag = shard === undefined ? queue : `${queue}#${shard}`;
  const prefix = `${namespace}:{${tag}}:`;
  const laneHigh = `${prefix}lane:high`;
  const laneNormal = `${prefix}lane:normal`;
  const laneLow = `${prefix}lane:low`;
  const delayed = `${prefix}delayed`;
  const active = `${prefix}active`;
  const dead = `${prefix}dead`;
  const stats = `${prefix}stats`;
  const signal = `${prefix}signal`;
  const hosts = `${prefix}hosts`;
  return {
    prefix,
    laneHigh,
    laneNormal,
    laneLow,
    delayed,
    active,
    dead,
    stats,
    signal,
    hosts,
    recent: `${prefix}recent`,
    history: `${prefix}history`,
    scriptKeys: [laneHigh, laneNormal, laneLow, delayed, active, dead, stats, signal, hosts],
    task: (id) => `${prefix}task:${id}`,
    idempotency: (key) => `${prefix}idem:${key}`,
    tokens: (hostId) => `${prefix}tokens:${hostId}`,
    host: (hostId) => `${prefix}host:${hostId}`,
    wake: (hostId) => `${prefix}wake:${hostId}`,
  };
}

/**
 * The keys of every shard of a queue of `shards` shards: `[queueKeys(queue)]` for one shard (the
 * plain `{<queue>}` keys), else one `{<queue>#i}` set per shard, in shard order.
 */
export function shardKeys(queue: string, namespace = 'forklift', shards = 1): QueueKeys[] {
  if (shards === 1) return [queueKeys(queue, namespace)];
  return Array.from({ length: shards }, (_, i) => queueKeys(queue, namespace, i));
}
