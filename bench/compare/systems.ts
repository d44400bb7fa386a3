/**
 * The three queue systems the comparison drives, each through its own producer API and read
 * back through its own view of "finished":
 *
 * - Forklift: the typed producer (`createProducer` over `QueueClient`, payloads validated by
 *   zod), finished = the queue's `succeeded` counter;
 * - BullMQ: `Queue.add` / `Queue.addBulk`, finished = the size of its completed set;
 * - the bare pool: RPUSH of JSON payloads onto the normal lane (what the original design's
 *   producers did), finished = the LPUSH calls its children made to give their tokens back (it
 *   stores nothing else), read from INFO commandstats.
 *
 * Every task is `square` with payload `{ x }` at normal priority.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { queueKeys } from '../../shared/keys.js';
import { createProducer } from '../../shared/producer.js';
import { QueueClient } from '../../shared/queue-client.js';
import { tasks } from '../../shared/tasks/index.js';
import { ioredisTransport } from '../../worker-host/redis/ioredis-transport.js';
import { bareKeys } from './consumers/bare-keys.js';

/** The key namespace the Forklift consumer runs under (see consumers/forklift.ts). */
export const FORKLIFT_NAMESPACE = 'bench';

/** A producer bound to one queue. */
export interface BenchProducer {
  /** Enqueues tasks x = each of `xs`, in one call. */
  enqueueBatch(xs: readonly number[]): Promise<void>;
  /** Enqueues one task. */
  enqueueOne(x: number): Promise<void>;
  /** Tasks finished so far (one Redis command). */
  finished(): Promise<number>;
  close(): Promise<void>;
}

/** A queue system under comparison. */
export type SystemName = 'forklift' | 'bullmq' | 'bare';

/** Opens a producer of `system` for `queue` over `redis` (a connection the driver owns). */
export function openProducer(
  system: SystemName,
  redis: Redis,
  queue: string,
  redisUrl: string,
): BenchProducer {
  switch (system) {
    case 'forklift': {
      const client = new QueueClient(ioredisTransport(redis), {
        queue,
        namespace: FORKLIFT_NAMESPACE,
      });
      const producer = createProducer(client, tasks);
      const stats = queueKeys(queue, FORKLIFT_NAMESPACE).stats;
      return {
        async enqueueBatch(xs) {
          await producer.enqueueMany(xs.map((x) => ({ type: 'square', payload: { x } })));
        },
        async enqueueOne(x) {
          await producer.enqueue('square', { x });
        },
        async finished() {
          return Number((await redis.hget(stats, 'succeeded')) ?? 0);
        },
        async close() {},
      };
    }
    case 'bullmq': {
      const bull = new Queue(queue, { connection: { url: redisUrl } });
      const completed = `bull:${queue}:completed`;
      return {
        async enqueueBatch(xs) {
          await bull.addBulk(xs.map((x) => ({ name: 'square', data: { x } })));
        },
        async enqueueOne(x) {
          await bull.add('square', { x });
        },
        finished: () => redis.zcard(completed),
        close: () => bull.close(),
      };
    }
    case 'bare': {
      const keys = bareKeys(queue);
      return {
        async enqueueBatch(xs) {
          await redis.rpush(keys.normal, ...xs.map((x) => JSON.stringify({ x })));
        },
        async enqueueOne(x) {
          await redis.rpush(keys.normal, JSON.stringify({ x }));
        },
        async finished() {
          const info = await redis.info('commandstats');
          return Number(/^cmdstat_lpush:calls=(\d+)/m.exec(info)?.[1] ?? 0);
        },
        async close() {},
      };
    }
  }
}
