/**
 * One measured run of one consumer: N square tasks, either all enqueued before the consumer is
 * launched (`prefilled`) or enqueued in calls of 1,000 once it is ready and idle (`live`).
 *
 * Every consumer is measured the same way: throughput from the first task started (the probe)
 * to the last one finished (the system's own count, polled every 5 ms), the time from launch
 * (prefilled) or from the first enqueue call (live) to the end, and, from the first task
 * started, the CPU of the consumer's whole process tree, the CPU of redis-server and the peak
 * resident memory of the tree (sampled every 20 ms). In a live run Redis's CPU includes the
 * producer's enqueue calls.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchRedis } from './bench-redis.js';
import type { ConsumerKind } from './consumers.js';
import { firstStart, type LaunchedConsumer, launchConsumer } from './launch.js';
import { startMonitor } from './monitor.js';
import { sampleAt, TreeSampler } from './proc.js';
import { type BenchProducer, openProducer } from './systems.js';

/** How tasks reach the consumer. */
export type Scenario = 'prefilled' | 'live';

/** Tasks per enqueue call. */
export const BATCH = 1_000;
/** Pause after a consumer says ready, so it reaches its idle wait before a live run. */
const SETTLE_MS = 500;
/** The longest a run may take before it is given up. */
const RUN_TIMEOUT_MS = 300_000;

/**
 * Polls the system's count of finished tasks every `everyMs` until it reaches `tasks`; resolves
 * with the hrtime (ns) at which the poll that saw the last one was sent.
 */
export async function untilFinished(
  producer: BenchProducer,
  tasks: number,
  kind: ConsumerKind,
  consumer: LaunchedConsumer,
  everyMs = 5,
): Promise<bigint> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  for (;;) {
    const polledAt = process.hrtime.bigint();
    if ((await producer.finished()) >= tasks) return polledAt;
    if (Date.now() > deadline) throw new Error(`${kind.name}: ${tasks} tasks did not finish`);
    if (consumer.child.exitCode !== null) throw new Error(`${kind.name} exited during the run`);
    await sleep(everyMs);
  }
}

/** Enqueues tasks x = 0 .. tasks-1 in calls of BATCH. */
export async function enqueueAll(producer: BenchProducer, tasks: number): Promise<void> {
  for (let from = 0; from < tasks; from += BATCH) {
    const xs = Array.from({ length: Math.min(BATCH, tasks - from) }, (_, i) => from + i);
    await producer.enqueueBatch(xs);
  }
}

/** What one run measured. */
export interface RunFigures {
  tasksPerSecond: number;
  /** Seconds from launch (prefilled) or from the first enqueue call (live) to the last finish. */
  secondsToDone: number;
  /** CPU µs per task from the first start: the consumer's process tree, and redis-server. */
  treeCpuMicros: number;
  redisCpuMicros: number;
  /** Largest resident memory of the whole tree, MiB. */
  peakRssMiB: number;
}

/** Runs `kind` once on `tasks` tasks. */
export async function measuredRun(
  server: BenchRedis,
  kind: ConsumerKind,
  scenario: Scenario,
  tasks: number,
  queue: string,
): Promise<RunFigures> {
  await server.reset();
  const producer = openProducer(kind.system, server.redis, queue, server.url);
  if (scenario === 'prefilled') await enqueueAll(producer, tasks);
  const consumer = launchConsumer(kind, server.url, queue);
  const sampler = new TreeSampler(consumer.pid, server.pid);
  try {
    let startedAt = consumer.launchedAt;
    if (scenario === 'live') {
      await consumer.ready;
      await sleep(SETTLE_MS);
      startedAt = process.hrtime.bigint();
      await enqueueAll(producer, tasks);
    }
    const doneAt = await untilFinished(producer, tasks, kind, consumer);
    const samples = sampler.stop();
    const first = firstStart(consumer.probeDir);
    if (first === undefined) throw new Error(`${kind.name}: no task start was noted`);
    const from = sampleAt(samples, first);
    const to = samples[samples.length - 1] ?? from;
    return {
      tasksPerSecond: tasks / (Number(doneAt - first) / 1e9),
      secondsToDone: Number(doneAt - startedAt) / 1e9,
      treeCpuMicros: (to.cpuMicros - from.cpuMicros) / tasks,
      redisCpuMicros: (to.otherCpuMicros - from.otherCpuMicros) / tasks,
      peakRssMiB: Math.max(...samples.map((s) => s.rssBytes)) / 1_048_576,
    };
  } finally {
    sampler.stop();
    await consumer.stop();
    await producer.close();
  }
}

/** What a consumer asks of Redis per task (see monitor.ts). */
export interface CommandFigures {
  /** Commands sent to Redis per task, by every process of the consumer. */
  sentPerTask: number;
  /** Calls made inside scripts per task. */
  inScriptsPerTask: number;
}

/**
 * Counts the commands `kind` sends, and the calls its scripts make, for `tasks` prefilled tasks,
 * from launch (start-up included) to the last finish, with MONITOR.
 */
export async function countCommands(
  server: BenchRedis,
  kind: ConsumerKind,
  tasks: number,
  queue: string,
): Promise<CommandFigures> {
  await server.reset();
  const producer = openProducer(kind.system, server.redis, queue, server.url);
  await enqueueAll(producer, tasks);
  // The producer's own connections are closed before counting; polls use the driver's.
  await producer.close();
  const monitor = await startMonitor(server.port, server.localPort());
  const consumer = launchConsumer(kind, server.url, queue);
  try {
    await untilFinished(producer, tasks, kind, consumer);
  } finally {
    await consumer.stop();
  }
  const counts = await monitor.stop();
  return { sentPerTask: counts.sent / tasks, inScriptsPerTask: counts.inScripts / tasks };
}
