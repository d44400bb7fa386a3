/** Whether a Redis (or a Redis Cluster) answers PING at `url`, asked once without retries. */
import { Cluster, Redis } from 'ioredis';
import { isClusterUrl, parseClusterUrl } from './cluster-url.js';
import { clusterOptions } from './connect.js';

/**
 * Resolves true when the Redis at `url` answers PONG, false on any failure. For a cluster URL,
 * the cluster must be up (CLUSTER INFO says ok) and one of its masters answer.
 */
export async function redisAnswers(url: string): Promise<boolean> {
  let probe: Redis | Cluster;
  try {
    probe = isClusterUrl(url)
      ? new Cluster(parseClusterUrl(url).seeds, {
          ...clusterOptions(url, { name: 'forklift:probe' }),
          lazyConnect: true,
          clusterRetryStrategy: () => null,
        })
      : new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  } catch {
    return false;
  }
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
