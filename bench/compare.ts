/**
 * `npm run bench -- compare [--quick] [--json FILE]`: Forklift against BullMQ and the bare fork
 * pool of the original design, in one run, on one private redis-server.
 *
 * Each round runs every consumer (Forklift strict and --prefetch 16 through the real worker host;
 * BullMQ sandboxed at concurrency 2 and in-process at 50; the bare BLPOP + fork pool of 2) on
 * BENCH_TASKS square tasks, once with the tasks enqueued before launch and once with them
 * enqueued while it runs, in an order that rotates from round to round; then the producers
 * (Forklift's typed enqueue and enqueueMany against BullMQ's add and addBulk) and the idle
 * pick-up latency (Forklift strict and BullMQ sandboxed). What varies little is measured once:
 * the commands each consumer sends and the calls its scripts make (MONITOR), and the Redis
 * memory of a queued task. Ratios are taken round by round, so every ratio compares runs of the
 * same hour on the same machine. See measured-run.ts for how a run is measured.
 *
 * Environment: BENCH_RUNS (rounds, default 3), BENCH_TASKS (tasks per consumer run, default
 * 20000). --quick: one small round (about a minute at most), a smoke test of the harness.
 * --baseline DIR: also run the Forklift consumers of another checkout (a git worktree of the
 * previous main, node_modules linked), and give each Forklift row its ratio to that baseline.
 * --consumers ID,ID: run only these consumers (and their baselines), and only their throughput
 * and cost rows: a quicker A/B run while changing the engine.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startBenchRedis } from './compare/bench-redis.js';
import { type ConsumerKind, consumersFor } from './compare/consumers.js';
import { latencyRun } from './compare/latency.js';
import { countCommands, measuredRun, type Scenario } from './compare/measured-run.js';
import { bytesPerQueuedTask, producerRun } from './compare/producer-bench.js';
import { buildReport, formatReport, type Once, type Round } from './compare/report.js';

/** Sizes of a comparison. */
interface Sizes {
  rounds: number;
  tasks: number;
  /** Tasks counted with MONITOR per consumer. */
  monitored: number;
  singleEnqueues: number;
  batchedEnqueues: number;
  memoryTasks: number;
  latencySamples: number;
}

function sizes(quick: boolean): Sizes {
  const positive = (name: string, fallback: number) => {
    const value = process.env[name];
    if (value === undefined || value === '') return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`${name} must be a whole number >= 1, got ${JSON.stringify(value)}`);
    return n;
  };
  if (quick)
    return {
      rounds: 1,
      tasks: 1_000,
      monitored: 500,
      singleEnqueues: 200,
      batchedEnqueues: 2_000,
      memoryTasks: 5_000,
      latencySamples: 50,
    };
  const tasks = positive('BENCH_TASKS', 20_000);
  return {
    rounds: positive('BENCH_RUNS', 3),
    tasks,
    monitored: Math.min(tasks, 4_000),
    singleEnqueues: 2_000,
    batchedEnqueues: 50_000,
    memoryTasks: 100_000,
    latencySamples: 1_000,
  };
}

/** The consumers in the order of round `r`: rotated by r, reversed every other round. */
function orderOf(consumers: readonly ConsumerKind[], round: number): ConsumerKind[] {
  const rotated = consumers.map(
    (_, i) => consumers[(i + round) % consumers.length] as ConsumerKind,
  );
  return round % 2 === 1 ? rotated.reverse() : rotated;
}

const progress = (text: string) => process.stderr.write(`  ${text}\n`);

/** Runs the comparison and prints the table (and writes JSON with --json FILE). */
export default async function benchCompare(args: readonly string[] = []): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      baseline: { type: 'string' },
      consumers: { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  const size = sizes(quick);
  const baseline = values.baseline === undefined ? null : resolve(values.baseline);
  if (baseline !== null && !existsSync(join(baseline, 'bench/compare/consumers/forklift.ts'))) {
    throw new Error(
      `--baseline ${baseline}: no bench/compare/consumers/forklift.ts there (give a checkout of Forklift with this benchmark, node_modules linked)`,
    );
  }
  const only = values.consumers?.split(',').map((id) => id.trim());
  const consumers = consumersFor(baseline ?? undefined).filter(
    (kind) => !only || only.includes(kind.id.replace(/@baseline$/, '')),
  );
  if (consumers.length === 0) throw new Error(`--consumers ${values.consumers}: no such consumer`);
  const throughputOnly = only !== undefined;
  const server = await startBenchRedis();
  try {
    progress(`compare: ${size.rounds} round(s) of ${size.tasks} tasks per consumer run`);
    const once: Once = { commands: new Map(), bytesPerTask: new Map() };
    for (const kind of throughputOnly ? [] : consumers) {
      once.commands.set(kind.id, await countCommands(server, kind, size.monitored, 'monitor'));
    }
    for (const system of throughputOnly ? [] : (['forklift', 'bullmq'] as const)) {
      once.bytesPerTask.set(system, await bytesPerQueuedTask(server, system, size.memoryTasks));
    }
    const rounds: Round[] = [];
    for (let r = 0; r < size.rounds; r++) {
      const round: Round = { runs: new Map(), producer: new Map(), latency: new Map() };
      for (const scenario of ['prefilled', 'live'] as Scenario[]) {
        for (const kind of orderOf(consumers, r)) {
          const figures = await measuredRun(server, kind, scenario, size.tasks, 'compare');
          round.runs.set(`${kind.id}:${scenario}`, figures);
          progress(
            `round ${r + 1}: ${kind.name}, ${scenario}: ${Math.round(figures.tasksPerSecond)} tasks/s`,
          );
        }
      }
      rounds.push(round);
      if (throughputOnly) continue;
      const systems =
        r % 2 === 0 ? (['forklift', 'bullmq'] as const) : (['bullmq', 'forklift'] as const);
      for (const system of systems) {
        round.producer.set(
          system,
          await producerRun(server, system, size.singleEnqueues, size.batchedEnqueues),
        );
      }
      const latencyKinds = consumers.filter(
        (c) => c.id === 'forklift-strict' || c.id === 'bullmq-sandboxed',
      );
      for (const kind of r % 2 === 0 ? latencyKinds : [...latencyKinds].reverse()) {
        round.latency.set(kind.id, await latencyRun(server, kind, size.latencySamples));
      }
    }
    const report = buildReport(
      {
        date: new Date().toISOString().slice(0, 10),
        machine: { cpus: availableParallelism(), node: process.version, redis: server.version },
        rounds: size.rounds,
        tasks: size.tasks,
        quick,
        throughputOnly,
        consumers,
        baseline,
      },
      rounds,
      once,
    );
    console.log(formatReport(report));
    if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await server.close();
  }
}
