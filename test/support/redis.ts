/**
 * Real-Redis helpers for tests. Every test file works under a key namespace of its own
 * (`t-<file>-<random>`), so files can run in parallel against one Redis, and deletes its keys
 * when done. Nothing here mocks Redis.
 */
import { Redis } from 'ioredis';
import { QueueClient } from '../../shared/queue-client.js';
import { ioredisTransport } from '../../worker-host/redis/ioredis-transport.js';

/** The Redis the tests use: REDIS_URL, or the local default. */
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh namespace for one test file (or one test), e.g. `t-priority-3f9a1c`. */
export function testNamespace(name: string): string {
  return `t-${name}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Opens a plain ioredis connection to the test Redis. */
export function testRedis(): Redis {
  return new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 3 });
}

/** Every key matching `pattern` (SCAN, so the server is never blocked). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

/** Deletes every key that starts with `prefix`. */
export async function deleteKeysByPrefix(redis: Redis, prefix: string): Promise<void> {
  const keys = await scanKeys(redis, `${prefix}*`);
  for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
}

/** Deletes every key under `namespace`. */
export function deleteNamespace(redis: Redis, namespace: string): Promise<void> {
  return deleteKeysByPrefix(redis, `${namespace}:`);
}

/** A QueueClient over ioredis for `namespace`. */
export function testQueue(redis: Redis, namespace: string, queue = 'default'): QueueClient {
  return new QueueClient(ioredisTransport(redis), { namespace, queue });
}

/** Sleeps `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `intervalMs` until it returns a truthy value, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  { timeoutMs = 15_000, intervalMs = 50, what = 'condition' } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
