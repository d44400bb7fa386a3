/**
 * End-to-end throughput of no-op tasks through a worker host with a pool of 2 children, with
 * the strict semaphore (prefetch 0) and with prefetch, on a private redis-server, and the Redis
 * commands spent per task (from INFO commandstats, enqueue counted apart).
 *
 * Reference figures for this 2-core machine (from the core issue): BullMQ 6.7 about 3,200
 * tasks/s through sandboxed processors at concurrency 2 and 11,400/s in-process at concurrency
 * 50; a bare unreliable BLPOP + fork pool about 6,600/s.
 */
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

async function commandCounts(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const counts = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    counts.set(match[1] ?? '', Number(match[2]));
  return counts;
}

async function run(
  redisUrl: string,
  prefetch: number,
): Promise<{ perSecond: number; commandsPerTask: number; ms: number }> {
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
  const started = performance.now();
  for (let i = 0; i < prepared.specs.length; i += 1000)
    await client.enqueue(prepared.specs.slice(i, i + 1000));
  for (;;) {
    const stats = await client.stats();
    if (stats.succeeded + stats.dead >= TASKS) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = performance.now() - started;
  const counts = await commandCounts(redis);
  await host.close();
  // Top-level commands only (commandstats also counts the calls scripts make inside Redis).
  let total = 0;
  for (const name of ['evalsha', 'eval', 'blpop', 'multi', 'exec']) total += counts.get(name) ?? 0;
  // Subtract the benchmark's own traffic: the enqueue calls and the stats polls.
  const own = Math.ceil(TASKS / 1000) + Math.ceil(ms / 20) + 1;
  redis.disconnect();
  return {
    perSecond: Math.round((TASKS / ms) * 1000),
    commandsPerTask: Math.max(0, total - own) / TASKS,
    ms,
  };
}

/** Prints the engine figures. */
export default async function benchEngine(): Promise<void> {
  const server = await startThrowawayRedis();
  try {
    console.log(`engine: ${TASKS} no-op tasks, pool of 2 children, private redis-server`);
    for (const prefetch of [0, 4, 16]) {
      const r = await run(server.url, prefetch);
      const label = prefetch === 0 ? 'strict semaphore (prefetch 0)' : `prefetch ${prefetch}`;
      console.log(
        `  ${label.padEnd(30)} ${String(r.perSecond).padStart(7)} tasks/s   ${r.commandsPerTask.toFixed(2)} Redis commands/task   (${Math.round(r.ms)} ms)`,
      );
    }
    console.log(
      '  reference: BullMQ 6.7 sandboxed c=2 ~3,200/s; in-process c=50 ~11,400/s; bare BLPOP+fork ~6,600/s',
    );
  } finally {
    await server.kill();
  }
}
