/** Whether a Redis answers PING at `url`, asked once without retries. */
import { Redis } from 'ioredis';

/** Resolves true when the Redis at `url` answers PONG, false on any failure. */
export async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
