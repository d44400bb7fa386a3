/**
 * End-to-end throughput of no-op tasks through a worker host with a pool of 2 children, with
 * the strict semaphore (prefetch 0) and with prefetch, on a private redis-server: the tasks are
 * enqueued (BENCH_BATCH per call, default 1000) while the pool runs them, and the clock stops
 * when the last one is stored. Per setting it prints the median of BENCH_RUNS runs (default 3)
 * with the range, the Redis commands spent per task (from INFO commandstats, the benchmark's own
 * enqueue and polling calls counted apart) and the CPU each process spent per task.
 *
 * Environment: BENCH_TASKS (default 40000), BENCH_PREFETCH (default 0,4,16), BENCH_RUNS,
 * BENCH_BATCH.
 *
 * Figures from this benchmark describe Forklift alone; comparisons with other systems come only
 * from `npm run bench -- compare`, which measures them in the same run.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { prepareBatch } from '../shared/enqueue-request.js';
import { QueueClient } from '../shared/queue-client.js';
import { startThrowawayRedis } from '../test/support/gateway.js';
import { startWorkerHost } from '../worker-host/host.js';
import { ioredisTransport } from '../worker-host/redis/ioredis-transport.js';
import { benchTasks } from './handlers.js';

const HANDLERS = fileURLToPath(
  new URL(`./handlers.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url),
);
const TASKS = Number(process.env.BENCH_TASKS ?? 40_000);
/**
 * Tasks per enqueue call. The tasks are enqueued while the pool runs; one call holds Redis for
 * its whole batch (about 10 µs a task), so the children wait that long for their next lease.
 */
const BATCH = Math.max(1, Number(process.env.BENCH_BATCH ?? 1000));
/** Runs per setting (the median is printed). */
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
/** Prefetch settings to run, e.g. BENCH_PREFETCH=0,16 (default 0,4,16). */
const PREFETCH = (process.env.BENCH_PREFETCH ?? '0,4,16').split(',').map(Number);

async function commandCounts(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const counts = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    counts.set(match[1] ?? '', Number(match[2]));
  return counts;
}

/** CPU time (µs) a process has used, from /proc (Linux); undefined elsewhere. */
function cpuMicros(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / 100;
  } catch {
    return undefined;
  }
}

interface RunFigures {
  perSecond: number;
  commandsPerTask: number;
  ms: number;
  /** CPU µs per task: this process (host + enqueuer), the children, redis-server. */
  cpu: { parent: number; children: number | undefined; redis: number | undefined };
}

async function run(redisUrl: string, prefetch: number): Promise<RunFigures> {
  const redis = new Redis(redisUrl);
  const namespace = `bench-${prefetch}-${Date.now()}`;
  const client = new QueueClient(ioredisTransport(redis), { namespace });
  const host = await startWorkerHost({
    redisUrl,
    namespace,
    concurrency: 2,
    prefetch,
    handlersModule: HANDLERS,
    logger: pino({ level: 'silent' }),
  });
  // Let the children start and the host settle into its blocking wait.
  await new Promise((r) => setTimeout(r, 1_500));
  const prepared = prepareBatch(
    benchTasks,
    Array.from({ length: TASKS }, (_, n) => ({ type: 'noop', payload: { n } })),
  );
  if (!prepared.ok) throw new Error('bench tasks invalid');
  await redis.config('RESETSTAT');
  const redisPid = Number((await redis.info('server')).match(/process_id:(\d+)/)?.[1]);
  const childPids = host.pids();
  const childCpu0 = childPids.map(cpuMicros);
  const redisCpu0 = cpuMicros(redisPid);
  const parentCpu0 = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < prepared.specs.length; i += BATCH)
    await client.enqueue(prepared.specs.slice(i, i + BATCH));
  for (;;) {
    const stats = await client.stats();
    if (stats.succeeded + stats.dead >= TASKS) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = performance.now() - started;
  const parentCpu = process.cpuUsage(parentCpu0);
  const childCpu = childPids.map((pid, i) => {
    const now = cpuMicros(pid);
    const before = childCpu0[i];
    return now === undefined || before === undefined ? undefined : now - before;
  });
  const redisCpuNow = cpuMicros(redisPid);
  const counts = await commandCounts(redis);
  await host.close();
  // Top-level commands only (commandstats also counts the calls scripts make inside Redis).
  let total = 0;
  for (const name of ['evalsha', 'eval', 'blpop', 'multi', 'exec']) total += counts.get(name) ?? 0;
  // Subtract the benchmark's own traffic: the enqueue calls and the stats polls.
  const own = Math.ceil(TASKS / BATCH) + Math.ceil(ms / 20) + 1;
  redis.disconnect();
  return {
    perSecond: Math.round((TASKS / ms) * 1000),
    commandsPerTask: Math.max(0, total - own) / TASKS,
    cpu: {
      parent: (parentCpu.user + parentCpu.system) / TASKS,
      children: childCpu.some((c) => c === undefined)
        ? undefined
        : childCpu.reduce((a: number, c) => a + (c ?? 0), 0) / TASKS,
      redis:
        redisCpuNow === undefined || redisCpu0 === undefined
          ? undefined
          : (redisCpuNow - redisCpu0) / TASKS,
    },
    ms,
  };
}

/** Prints the engine figures: per setting, the median run of BENCH_RUNS and the range. */
export default async function benchEngine(): Promise<void> {
  const server = await startThrowawayRedis();
  try {
    console.log(
      `engine: ${TASKS} no-op tasks enqueued in batches of ${BATCH} while a pool of 2 children runs them, private redis-server; median of ${RUNS} runs`,
    );
    for (const prefetch of PREFETCH) {
      const runs: RunFigures[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await run(server.url, prefetch));
      runs.sort((a, b) => a.perSecond - b.perSecond);
      const r = runs[Math.floor(runs.length / 2)] as RunFigures;
      const range = `${runs[0]?.perSecond}-${runs[runs.length - 1]?.perSecond}`;
      const label = prefetch === 0 ? 'strict semaphore (prefetch 0)' : `prefetch ${prefetch}`;
      const us = (v: number | undefined) => (v === undefined ? '?' : v.toFixed(0));
      console.log(
        `  ${label.padEnd(30)} ${String(r.perSecond).padStart(7)} tasks/s (${range})   ${r.commandsPerTask.toFixed(2)} Redis commands/task   ` +
          `CPU µs/task: host ${us(r.cpu.parent)}, children ${us(r.cpu.children)}, redis ${us(r.cpu.redis)}`,
      );
    }
  } finally {
    await server.kill();
  }
}
