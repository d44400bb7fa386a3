/**
 * The producer side: enqueue throughput of Forklift's typed producer (validation included)
 * against BullMQ's `add` (one task per call, calls one after the other) and `addBulk` (calls of
 * 1,000), and the Redis memory a queued task takes (INFO used_memory before and after queueing
 * many tasks, no consumer running).
 */
import type { BenchRedis } from './bench-redis.js';
import { enqueueAll } from './measured-run.js';
import { openProducer, type SystemName } from './systems.js';

/** Enqueue figures of one system in one round. */
export interface ProducerFigures {
  singlePerSecond: number;
  batchPerSecond: number;
}

/** Measures one system's enqueue throughput: `single` one-task calls, `batched` tasks in calls of 1,000. */
export async function producerRun(
  server: BenchRedis,
  system: SystemName,
  single: number,
  batched: number,
): Promise<ProducerFigures> {
  await server.reset();
  const producer = openProducer(system, server.redis, 'producer', server.url);
  try {
    // Warm up: connections, script loading.
    await producer.enqueueOne(-1);
    let started = performance.now();
    for (let x = 0; x < single; x++) await producer.enqueueOne(x);
    const singlePerSecond = single / ((performance.now() - started) / 1000);
    started = performance.now();
    await enqueueAll(producer, batched);
    const batchPerSecond = batched / ((performance.now() - started) / 1000);
    return { singlePerSecond, batchPerSecond };
  } finally {
    await producer.close();
  }
}

/** Bytes of Redis memory per queued task, over `tasks` tasks enqueued in calls of 1,000. */
export async function bytesPerQueuedTask(
  server: BenchRedis,
  system: SystemName,
  tasks: number,
): Promise<number> {
  await server.reset();
  const producer = openProducer(system, server.redis, 'memory', server.url);
  try {
    // One call first, so the structures that exist once per queue are counted in the baseline.
    await producer.enqueueBatch([-1]);
    const before = await usedMemory(server);
    await enqueueAll(producer, tasks);
    return ((await usedMemory(server)) - before) / tasks;
  } finally {
    await producer.close();
  }
}

async function usedMemory(server: BenchRedis): Promise<number> {
  const info = await server.redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
}
