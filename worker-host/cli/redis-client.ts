/** A short-lived Redis connection and QueueClient for one-shot commands (enqueue, status, ...). */
import type { Redis } from 'ioredis';
import { QueueClient } from '../../shared/queue-client.js';
import { connectRedis } from '../redis/connect.js';
import { ioredisTransport } from '../redis/ioredis-transport.js';
import { CliError } from './cli-error.js';

/** Runs `fn` with a QueueClient on a fresh connection, closing it afterwards. */
export async function withQueue<T>(
  redisUrl: string,
  queue: string,
  namespace: string,
  fn: (client: QueueClient, redis: Redis) => Promise<T>,
): Promise<T> {
  let lastError: Error | undefined;
  const redis = connectRedis(redisUrl, {
    name: 'forklift:cli',
    onError: (error) => {
      lastError = error;
    },
  });
  try {
    return await fn(new QueueClient(ioredisTransport(redis), { queue, namespace }), redis);
  } catch (error) {
    if (
      error instanceof Error &&
      /max retries|Connection is closed|ECONNREFUSED/i.test(error.message)
    ) {
      throw new CliError(
        `cannot reach Redis at ${redisUrl} (${lastError?.message ?? error.message}); set REDIS_URL`,
        1,
      );
    }
    throw error;
  } finally {
    redis.disconnect();
  }
}
