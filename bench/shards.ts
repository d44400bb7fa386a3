/**
 * `npm run bench -- shards`: a sharded queue against a one-shard queue on the same private
 * 3-master Redis Cluster (started here with test/support/cluster.ts, each shard's slot moved to
 * a master of its own): throughput of no-op tasks through one worker host (a pool of 2 children,
 * prefetch 16), enqueued in batches while the pool runs, for 1 and 3 shards side by side (median
 * of the rounds); then the idle cost: the Redis commands per minute an idle host sends on a
 * 1-shard and on a 3-shard queue (INFO commandstats on every master, top-level commands only).
 *
 * Options: --quick (2,000 tasks, 1 round, a 16 s idle window (one upkeep tick): for the test that keeps this
 * benchmark from rotting), --tasks N, --rounds N, --idle-seconds N, --json FILE.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { prepareBatch } from '../shared/enqueue-request.js';
import { QueueClient } from '../shared/queue-client.js';
import { startCluster, type TestCluster } from '../test/support/cluster.js';
import { startWorkerHost } from '../worker-host/host.js';
import { connectRedis } from '../worker-host/redis/connect.js';
import { ioredisTransport } from '../worker-host/redis/ioredis-transport.js';
import { benchTasks } from './handlers.js';

const HANDLERS = fileURLToPath(
  new URL(`./handlers.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url),
);
const BATCH = 1000;
/** The commands a client sends (commandstats also counts the calls scripts make inside Redis). */
const TOP_LEVEL = ['evalsha', 'eval', 'blpop', 'multi', 'exec', 'cluster', 'ping', 'readonly'];

/** What `--json` writes. */
export interface ShardsReport {
  tasks: number;
  rounds: number;
  throughput: { shards: number; tasksPerSecond: number; range: [number, number] }[];
  idle: {
    shards: number;
    seconds: number;
    commandsPerMinute: number;
    byCommand: Record<string, number>;
  }[];
}

/** Moves the slots of `{queue#i}` so that each shard of a K-shard queue has a master of its own. */
async function spreadShards(cluster: TestCluster, queue: string, shards: number): Promise<void> {
  const masters = await cluster.masters();
  const used = new Set<number>();
  for (let i = 0; i < shards; i++) {
    const tag = `{${queue}#${i}}`;
    const at = await cluster.masterOf(tag);
    if (!used.has(at)) {
      used.add(at);
      continue;
    }
    const free = masters.find((port) => !used.has(port));
    if (free === undefined) return;
    await cluster.moveSlotOf(tag, free);
    used.add(free);
  }
}

/** Top-level command counts summed over every master since the last RESETSTAT. */
async function commandCounts(cluster: TestCluster, reset: boolean): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const port of await cluster.masters()) {
    const node = cluster.node(port);
    try {
      if (reset) await node.config('RESETSTAT');
      else {
        const info = await node.info('commandstats');
        for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
          const name = m[1] ?? '';
          if (TOP_LEVEL.includes(name)) counts.set(name, (counts.get(name) ?? 0) + Number(m[2]));
        }
      }
    } finally {
      node.disconnect();
    }
  }
  return counts;
}

async function throughput(
  url: string,
  queue: string,
  shards: number,
  tasks: number,
): Promise<number> {
  const redis = connectRedis(url, { name: 'bench:shards' });
  const namespace = `bench-${Date.now()}`;
  const client = new QueueClient(ioredisTransport(redis), { namespace, queue, shards });
  const host = await startWorkerHost({
    redisUrl: url,
    namespace,
    queue,
    shards,
    concurrency: 2,
    prefetch: 16,
    handlersModule: HANDLERS,
    logger: pino({ level: 'silent' }),
  });
  try {
    await new Promise((r) => setTimeout(r, 1_500));
    const prepared = prepareBatch(
      benchTasks,
      Array.from({ length: tasks }, (_, n) => ({ type: 'noop', payload: { n } })),
    );
    if (!prepared.ok) throw new Error('bench tasks invalid');
    const started = performance.now();
    for (let i = 0; i < prepared.specs.length; i += BATCH)
      await client.enqueue(prepared.specs.slice(i, i + BATCH));
    for (;;) {
      const stats = await client.stats();
      if (stats.succeeded + stats.dead >= tasks) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return Math.round((tasks / (performance.now() - started)) * 1000);
  } finally {
    await host.close();
    redis.disconnect();
  }
}

async function idleCost(
  cluster: TestCluster,
  queue: string,
  shards: number,
  seconds: number,
): Promise<ShardsReport['idle'][number]> {
  const host = await startWorkerHost({
    redisUrl: cluster.url,
    namespace: `bench-idle-${Date.now()}`,
    queue,
    shards,
    concurrency: 2,
    handlersModule: HANDLERS,
    logger: pino({ level: 'silent' }),
  });
  try {
    await new Promise((r) => setTimeout(r, 2_000));
    await commandCounts(cluster, true);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const counts = await commandCounts(cluster, false);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    return {
      shards,
      seconds,
      commandsPerMinute: Math.round((total * 60) / seconds),
      byCommand: Object.fromEntries(counts),
    };
  } finally {
    await host.close();
  }
}

/** Runs the sharded-queue benchmark (see the module comment). */
export default async function benchShards(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      quick: { type: 'boolean', default: false },
      tasks: { type: 'string' },
      rounds: { type: 'string' },
      'idle-seconds': { type: 'string' },
      json: { type: 'string' },
      // compare's options, accepted (and unused) when every benchmark runs with them.
      baseline: { type: 'string' },
      consumers: { type: 'string' },
    },
    strict: true,
  });
  const quick = values.quick ?? false;
  const tasks = Number(values.tasks ?? (quick ? 2_000 : 20_000));
  const rounds = Number(values.rounds ?? (quick ? 1 : 3));
  const idleSeconds = Number(values['idle-seconds'] ?? (quick ? 16 : 60));
  const cluster = await startCluster();
  try {
    await spreadShards(cluster, 'three', 3);
    console.log(
      `shards: ${tasks} no-op tasks through one host (2 children, prefetch 16) on a 3-master cluster, enqueued in batches of ${BATCH} while it runs; median of ${rounds} round(s)`,
    );
    const report: ShardsReport = { tasks, rounds, throughput: [], idle: [] };
    const figures = new Map<number, number[]>([
      [1, []],
      [3, []],
    ]);
    for (let r = 0; r < rounds; r++) {
      figures.get(1)?.push(await throughput(cluster.url, 'one', 1, tasks));
      figures.get(3)?.push(await throughput(cluster.url, 'three', 3, tasks));
    }
    for (const [shards, runs] of figures) {
      runs.sort((a, b) => a - b);
      const median = runs[Math.floor(runs.length / 2)] ?? 0;
      const range: [number, number] = [runs[0] ?? 0, runs[runs.length - 1] ?? 0];
      report.throughput.push({ shards, tasksPerSecond: median, range });
      console.log(
        `  ${`${shards} shard${shards > 1 ? 's' : ''}`.padEnd(10)} ${String(median).padStart(7)} tasks/s (${range[0]}-${range[1]})`,
      );
    }
    const one = report.throughput[0]?.tasksPerSecond ?? 0;
    const three = report.throughput[1]?.tasksPerSecond ?? 0;
    if (one > 0) console.log(`  3 shards / 1 shard: ${(three / one).toFixed(2)}`);
    console.log(
      `idle host (2 children), commands a minute on every master, over ${idleSeconds} s:`,
    );
    for (const [queue, shards] of [
      ['one', 1],
      ['three', 3],
    ] as const) {
      const idle = await idleCost(cluster, queue, shards, idleSeconds);
      report.idle.push(idle);
      const detail = Object.entries(idle.byCommand)
        .map(([name, n]) => `${name} ${n}`)
        .join(', ');
      console.log(
        `  ${`${shards} shard${shards > 1 ? 's' : ''}`.padEnd(10)} ${String(idle.commandsPerMinute).padStart(5)}/min (${detail})`,
      );
    }
    if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await cluster.stop();
  }
}
