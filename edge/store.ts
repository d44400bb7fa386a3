/**
 * The queue client of an isolate: one @upstash/redis client and one `QueueClient` per validated
 * config, made on first use and reused by every request the isolate serves (they hold no I/O
 * object, only the endpoint and token, so sharing them across requests is allowed).
 */
import { QueueClient } from '../shared/index.js';
import type { EdgeConfig } from './config.js';
import { createRedis, upstashTransport } from './upstash-transport.js';

const clients = new WeakMap<EdgeConfig, QueueClient>();

/** The `QueueClient` for `config`, created once. */
export function queueFor(config: EdgeConfig): QueueClient {
  let queue = clients.get(config);
  if (!queue) {
    const redis = createRedis({ ...config.store, timeoutMs: config.storeTimeoutMs });
    queue = new QueueClient(upstashTransport(redis), {
      queue: config.queue,
      namespace: config.namespace,
    });
    clients.set(config, queue);
  }
  return queue;
}
