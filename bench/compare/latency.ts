/**
 * Pick-up latency of an idle pool: with the consumer started and waiting, one task at a time is
 * enqueued (a single-task call), and the time from just before that call to the moment its
 * handler starts (the probe, same clock) is one sample. The next task goes a few ms after the
 * previous one finished, so the pool is back in its idle wait. A few warm-up tasks first (BullMQ
 * forks its sandbox children on first use).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchRedis } from './bench-redis.js';
import type { ConsumerKind } from './consumers.js';
import { allStarts, launchConsumer } from './launch.js';
import { untilFinished } from './measured-run.js';
import { openProducer } from './systems.js';

const WARMUP = 20;
/** Pause after a task finished before the next is enqueued. */
const IDLE_MS = 5;

/** Enqueue-to-start latency percentiles, ms. */
export interface LatencyFigures {
  p50Ms: number;
  p99Ms: number;
}

/** Measures `kind`'s enqueue-to-handler-start latency over `samples` sequential tasks. */
export async function latencyRun(
  server: BenchRedis,
  kind: ConsumerKind,
  samples: number,
): Promise<LatencyFigures> {
  await server.reset();
  const queue = 'latency';
  const producer = openProducer(kind.system, server.redis, queue, server.url);
  const consumer = launchConsumer(kind, server.url, queue, { everyStart: true });
  try {
    await consumer.ready;
    await sleep(500);
    const enqueuedAt: bigint[] = [];
    for (let i = 0; i < WARMUP + samples; i++) {
      enqueuedAt.push(process.hrtime.bigint());
      await producer.enqueueOne(i);
      await untilFinished(producer, i + 1, kind, consumer, 1);
      await sleep(IDLE_MS);
    }
    const starts = allStarts(consumer.probeDir);
    if (starts.length !== enqueuedAt.length)
      throw new Error(`${kind.name}: ${starts.length} starts noted for ${enqueuedAt.length} tasks`);
    const latencies = starts
      .slice(WARMUP)
      .map((at, i) => Number(at - (enqueuedAt[WARMUP + i] as bigint)) / 1e6)
      .sort((a, b) => a - b);
    const at = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
    return { p50Ms: at(0.5), p99Ms: at(0.99) };
  } finally {
    await consumer.stop();
    await producer.close();
  }
}
