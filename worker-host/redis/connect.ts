/**
 * ioredis connections for the worker host and the CLI.
 *
 * Ordinary connections fail fast while Redis is away (a few retries per command, no offline
 * queue growing without bound) and reconnect by themselves; the blocking connection used for
 * BLPOP waits forever per command (`maxRetriesPerRequest: null`) and is used for nothing else.
 */
import { Redis } from 'ioredis';

/** Options for `connectRedis`. */
export interface ConnectOptions {
  /** Connection name shown by CLIENT LIST. */
  name: string;
  /** True for the dedicated BLPOP connection. */
  blocking?: boolean;
  /** Called with connection errors (ioredis emits them while it reconnects). */
  onError?: (error: Error) => void;
}

/** Opens an ioredis connection to `url` (redis:// or rediss://). */
export function connectRedis(url: string, options: ConnectOptions): Redis {
  const redis = new Redis(url, {
    connectionName: options.name,
    // RESP2, as Upstash speaks: script replies read the same in both halves, and no HELLO
    // round trip on connect (ioredis 6 defaults to RESP3).
    protocol: 2,
    maxRetriesPerRequest: options.blocking ? null : 3,
    enableAutoPipelining: false,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
    lazyConnect: false,
  });
  redis.on('error', (error: Error) => options.onError?.(error));
  return redis;
}
