/**
 * ioredis connections for the worker host and the CLI, to one Redis or to a Redis Cluster.
 *
 * A `REDIS_URL` of scheme `redis+cluster://` or `rediss+cluster://` (see cluster-url.ts) opens
 * an ioredis `Cluster`; any other opens a `Redis`. Both are used the same way: every command
 * the host and the CLI send names keys of one queue, which share a hash tag and so one slot
 * (the engine scripts, BLPOP on the signal and wake lists, the wake MULTI), and ioredis routes
 * it to that slot's master, following MOVED and ASK redirections and, after a failover, the new
 * master.
 *
 * Ordinary connections fail fast while Redis is away (a command waits through at most 3
 * reconnection attempts, no offline queue growing without bound) and reconnect by themselves;
 * the blocking connection used for BLPOP waits forever per command (`maxRetriesPerRequest:
 * null`) and is used for nothing else. On a cluster the same holds: `failFast` below plays the
 * part of `maxRetriesPerRequest`, which a `Cluster` applies to none of its own queued commands.
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { isClusterUrl, parseClusterUrl } from './cluster-url.js';

/** A connection to one Redis or to a Redis Cluster: both speak the same commands. */
export type RedisClient = Redis | Cluster;

/** Options for `connectRedis`. */
export interface ConnectOptions {
  /** Connection name shown by CLIENT LIST. */
  name: string;
  /** True for the dedicated BLPOP connection. */
  blocking?: boolean;
  /** Called with connection errors (ioredis emits them while it reconnects). */
  onError?: (error: Error) => void;
}

/** How many reconnection attempts an ordinary connection's command waits through. */
const MAX_RETRIES = 3;

const retryDelay = (times: number): number => Math.min(50 * 2 ** times, 2_000);

/** Options every connection gets, to one Redis or to each node of a cluster. */
function commonOptions(options: ConnectOptions) {
  return {
    connectionName: options.name,
    // RESP2, as Upstash speaks: script replies read the same in both halves, and no HELLO
    // round trip on connect (ioredis 6 defaults to RESP3).
    protocol: 2,
    maxRetriesPerRequest: options.blocking ? null : MAX_RETRIES,
  } satisfies RedisOptions;
}

/**
 * Opens an ioredis connection to `url`: redis:// or rediss:// for one Redis,
 * redis+cluster:// or rediss+cluster:// for a cluster.
 * @throws TypeError when a cluster URL does not parse (the message does not quote it).
 */
export function connectRedis(url: string, options: ConnectOptions): RedisClient {
  if (isClusterUrl(url)) return connectCluster(url, options);
  const redis = new Redis(url, {
    ...commonOptions(options),
    enableAutoPipelining: false,
    retryStrategy: retryDelay,
    lazyConnect: false,
  });
  redis.on('error', (error: Error) => options.onError?.(error));
  return redis;
}

/** The `Cluster` options for a cluster URL (exported for the tests and the probe). */
export function clusterOptions(url: string, options: ConnectOptions): ClusterOptions {
  const parsed = parseClusterUrl(url);
  return {
    redisOptions: {
      ...parsed.options,
      ...commonOptions(options),
      ...(parsed.username === undefined ? {} : { username: parsed.username }),
      ...(parsed.password === undefined ? {} : { password: parsed.password }),
      ...(parsed.tls ? { tls: {} } : {}),
    },
    // Writes and reads go to the masters: a replica may lag behind what a script just wrote.
    scaleReads: 'master',
    enableAutoPipelining: false,
    clusterRetryStrategy: retryDelay,
    // Topology changes show up as MOVED replies and closed connections, which refresh the slot
    // table at once; a periodic refresh would cost every idle connection a connection and a
    // CLUSTER SLOTS every few seconds.
    slotsRefreshInterval: 0,
    // A failover takes the cluster's node timeout and an election: give a command about 3 s
    // of redirections and retries before it fails (the host retries what fails).
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    // Behind TLS, keep node host names as written so that certificates match them (managed
    // services announce names, not addresses).
    ...(parsed.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
  };
}

function connectCluster(url: string, options: ConnectOptions): Cluster {
  const { seeds } = parseClusterUrl(url);
  const cluster = new Cluster(seeds, clusterOptions(url, options));
  // "Failed to refresh slots cache." says no node answered; the last node's error says why.
  cluster.on('error', (error: Error & { lastNodeError?: Error }) =>
    options.onError?.(error.lastNodeError ?? error),
  );
  cluster.on('node error', (error: Error) => options.onError?.(error));
  if (!options.blocking) failFast(cluster, MAX_RETRIES);
  return cluster;
}

/**
 * Makes a cluster's queued commands fail after `retries` reconnection attempts in a row, as
 * `maxRetriesPerRequest` does for one Redis: a `Cluster` queues commands while none of its
 * nodes answers and would otherwise keep them (and take new ones) until the cluster is back.
 */
function failFast(cluster: Cluster, retries: number): void {
  let attempts = 0;
  cluster.on('ready', () => {
    attempts = 0;
  });
  cluster.on('reconnecting', () => {
    attempts++;
    if (attempts <= retries) return;
    // `flushQueue` rejects every queued command with the error (ioredis's own use of it when
    // it gives up); it is not in the typings.
    const flush = (cluster as unknown as { flushQueue?: (error: Error) => void }).flushQueue;
    flush?.call(
      cluster,
      new Error(
        `Reached the max retries per request limit (which is ${retries}): no node of the Redis Cluster answers`,
      ),
    );
  });
}
