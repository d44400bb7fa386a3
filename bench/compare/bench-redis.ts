/**
 * The driver's handle on the private redis-server every comparison runs on: a connection for
 * producing and polling, the server's pid (for its CPU time) and a reset between runs.
 */
import { Redis } from 'ioredis';
import { startThrowawayRedis, type ThrowawayRedis } from '../../test/support/gateway.js';

/** The private Redis of one comparison. */
export interface BenchRedis {
  url: string;
  port: number;
  /** The local port of the driver's connection (its commands are not the consumer's). */
  localPort(): number;
  /** The driver's connection (producers, polls, INFO). */
  redis: Redis;
  /** redis-server's pid. */
  pid: number;
  /** Redis and Node versions, for the report. */
  version: string;
  /** Empties the server and its counters, then waits until its memory settles. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a private redis-server (no persistence) for the comparison. */
export async function startBenchRedis(): Promise<BenchRedis> {
  const server: ThrowawayRedis = await startThrowawayRedis();
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  const info = await redis.info('server');
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  const version = /redis_version:([\d.]+)/.exec(info)?.[1] ?? '?';
  return {
    url: server.url,
    port: server.port,
    localPort: () => (redis as unknown as { stream: { localPort: number } }).stream.localPort,
    redis,
    pid,
    version,
    async reset() {
      await redis.flushall();
      await redis.config('RESETSTAT');
    },
    async close() {
      redis.disconnect();
      await server.kill();
    },
  };
}

/** Calls of each command since the last reset (INFO commandstats). */
export async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    calls.set(m[1] ?? '', Number(m[2]));
  return calls;
}
