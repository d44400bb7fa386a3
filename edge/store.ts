/**
 * The queue client of an isolate: one @upstash/redis client and one `QueueClient` per validated
 * config, made on first use and reused by every request the isolate serves (they hold no I/O
 * object, only the endpoint and token, so sharing them across requests is allowed).
 */
import { QueueClient } from '../shared/index.js';
import { memoizeByObject } from '../shared/memo.js';
import type { EdgeConfig } from './config.js';
import { createRedis, upstashTransport } from './upstash-transport.js';

/** The `QueueClient` for `config`, created once. */
export const queueFor: (config: EdgeConfig) => QueueClient = memoizeByObject((config) => {
  const redis = createRedis({ ...config.store, timeoutMs: config.storeTimeoutMs });
  return new QueueClient(upstashTransport(redis), {
    queue: config.queue,
    namespace: config.namespace,
    shards: config.shards,
  });
});
