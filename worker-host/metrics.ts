/**
 * Prometheus metrics of a worker host (prom-client), served at `GET /metrics` by http-server.ts
 * when the host is started with `metricsPort` (CLI: `--metrics-port`):
 *
 * | metric                                   | type      | labels                  |
 * |------------------------------------------|-----------|-------------------------|
 * | `forklift_runs_total`                    | counter   | queue, type, outcome    |
 * | `forklift_run_duration_seconds`          | histogram | queue, type             |
 * | `forklift_queue_tasks`                   | gauge     | queue, state            |
 * | `forklift_pool_children`                 | gauge     | queue                   |
 * | Node.js process metrics (`process_*`, `nodejs_*`) of the host process              |
 *
 * `outcome` is `succeeded`, `failed` (the run threw; retried or dead by policy), `crashed` (its
 * child died), `timeout` (killed past its timeout). `forklift_queue_tasks` is read from Redis at
 * scrape time (one stats script call): lanes as `state="queued_high"` etc., plus `delayed` and
 * `active` across all hosts.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { QueueStats } from '../shared/queue-client.js';
import type { EndedRun, LeasedTask, RunError } from './pool/protocol.js';

/** The metrics of one host. */
export class HostMetrics {
  readonly registry = new Registry();
  private readonly runs: Counter<'queue' | 'type' | 'outcome'>;
  private readonly durations: Histogram<'queue' | 'type'>;

  constructor(
    private readonly queue: string,
    stats: () => Promise<QueueStats>,
    children: () => number,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.runs = new Counter({
      name: 'forklift_runs_total',
      help: 'Runs this host finished, by task type and outcome',
      labelNames: ['queue', 'type', 'outcome'],
      registers,
    });
    this.durations = new Histogram({
      name: 'forklift_run_duration_seconds',
      help: 'Wall time of a run in its child, from its start to its outcome',
      labelNames: ['queue', 'type'],
      buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers,
    });
    new Gauge({
      name: 'forklift_queue_tasks',
      help: 'Tasks in the queue by state, read from Redis at scrape time',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        const s = await stats();
        this.set({ queue, state: 'queued_high' }, s.lanes.high);
        this.set({ queue, state: 'queued_normal' }, s.lanes.normal);
        this.set({ queue, state: 'queued_low' }, s.lanes.low);
        this.set({ queue, state: 'delayed' }, s.delayed);
        this.set({ queue, state: 'active' }, s.active);
      },
    });
    new Gauge({
      name: 'forklift_pool_children',
      help: 'Live child processes of this host',
      labelNames: ['queue'],
      registers,
      collect() {
        this.set({ queue }, children());
      },
    });
  }

  /** Counts runs a child ended, with the wall times it measured (not tasks given back). */
  finished(runs: readonly EndedRun[]): void {
    for (const run of runs) {
      if (run.outcome !== 'released')
        this.observe(run.type, run.ok ? 'succeeded' : 'failed', run.ms);
    }
  }

  /** Counts the run a dead child was in, timed from the start it reported. */
  lost(running: LeasedTask | undefined, error: RunError, startedAt: number | undefined): void {
    if (!running) return;
    const ms = startedAt === undefined ? undefined : Date.now() - startedAt;
    this.observe(running.task.type, error.name === 'TimeoutError' ? 'timeout' : 'crashed', ms);
  }

  private observe(type: string, outcome: string, ms: number | undefined): void {
    this.runs.inc({ queue: this.queue, type, outcome });
    if (ms !== undefined) this.durations.observe({ queue: this.queue, type }, ms / 1000);
  }
}
