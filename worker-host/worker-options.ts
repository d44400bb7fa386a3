/**
 * Options of a worker host, each documented once with its default, and validated in one place:
 * a bad value throws a TypeError naming the option and the value (the CLI turns it into a
 * start-up error naming the flag).
 */

import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import * as z from 'zod';
import { NAMESPACE_PATTERN, QUEUE_NAME_PATTERN } from '../shared/keys.js';
import { MAX_SHARDS } from '../shared/shards.js';

/** What `startWorkerHost` accepts. */
export interface WorkerOptions {
  /**
   * Redis URL; `redis+cluster://host:port,...` (or `rediss+cluster://`) names a Redis Cluster
   * (see redis/cluster-url.ts). @default 'redis://127.0.0.1:6379'
   */
  redisUrl?: string;
  /** Queue name. @default 'default' */
  queue?: string;
  /** Key namespace (tests use their own). @default 'forklift' */
  namespace?: string;
  /**
   * The queue's shard count (`FORKLIFT_SHARDS`, 1-64; see shared/shards.ts): the host claims
   * from every shard. It must be the count the queue is declared with, or the start fails.
   * @default 1
   */
  shards?: number;
  /** Child processes. @default os.availableParallelism() */
  concurrency?: number;
  /**
   * Extra leased tasks each child may hold in line beyond the one it runs. @default 0
   * Raises throughput for many short tasks; the cost: a waiting task is leased (kept alive by
   * renewals) and counts as active while it waits in a child's line, and a busy host holds work
   * that an idle host could run. Its timeout starts when the child starts it.
   */
  prefetch?: number;
  /** Weighted fetching over [high, normal, low], e.g. [6, 3, 1]; undefined = strict priority. */
  weights?: [number, number, number] | undefined;
  /** A claimed task stays leased this long without renewal before any host may reclaim it. @default 30_000 */
  leaseMs?: number;
  /** On shutdown, how long running tasks may take to finish. @default 30_000 */
  graceMs?: number;
  /** Recycle a child after this many tasks. @default unlimited */
  maxTasksPerChild?: number | undefined;
  /** Recycle a child above this resident memory (MiB). @default unlimited */
  maxChildMemoryMb?: number | undefined;
  /** Absolute path of the handlers module. @default the built-in handlers */
  handlersModule?: string | undefined;
  /** Longest BLPOP wait while idle, ms. @default 25_000 */
  maxBlockMs?: number;
  /** Heartbeat / reap / promote period, ms. @default min(15_000, leaseMs / 2) */
  tickMs?: number;
  /** Serve Prometheus metrics at `GET /metrics` on this port (0: any free port). @default off */
  metricsPort?: number | undefined;
  /** Address the metrics server binds. @default '127.0.0.1' */
  metricsHost?: string;
  /**
   * Give up after Redis has been unreachable this long (ms, at least 1 s): the host kills its
   * children (their tasks go back to their lanes as stalls, through any other host's reaper,
   * once this host's TTL runs out), stops, and `WorkerHost.stoppedByOutage` resolves; the CLI
   * then exits with code 75 for its supervisor to restart it. Unreachable: a call or the
   * connection failed and nothing answered since, or nothing answered for max(2 ticks, 5 s)
   * (a Redis that hangs). @default off: the host waits for Redis however long it takes
   */
  exitAfterOutageMs?: number | undefined;
  /** This host's id. @default `<hostname>-<pid>-<random>` */
  hostId?: string | undefined;
  /** Logger. @default pino at level info */
  logger?: Logger | undefined;
}

const positiveInt = z.int().positive();

const schema = z.object({
  redisUrl: z
    .string()
    .regex(
      /^rediss?(\+cluster)?:\/\//,
      'must start with redis:// or rediss:// (redis+cluster:// or rediss+cluster:// for a Redis Cluster)',
    ),
  queue: z.string().regex(QUEUE_NAME_PATTERN, 'use 1-64 characters of A-Z a-z 0-9 _ . -'),
  namespace: z.string().regex(NAMESPACE_PATTERN),
  shards: z.int().min(1).max(MAX_SHARDS),
  concurrency: positiveInt.max(1024),
  prefetch: z.int().min(0).max(1000),
  weights: z
    .tuple([z.int().min(0), z.int().min(0), z.int().min(0)])
    .refine((w) => w[0] + w[1] + w[2] > 0, 'must not all be 0')
    .optional(),
  leaseMs: z.int().min(200).max(86_400_000),
  graceMs: z.int().min(0).max(86_400_000),
  maxTasksPerChild: positiveInt.optional(),
  maxChildMemoryMb: positiveInt.optional(),
  handlersModule: z.string().min(1).optional(),
  maxBlockMs: z.int().min(10).max(300_000),
  tickMs: z.int().min(50).max(300_000),
  hostId: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,128}$/)
    .optional(),
  metricsPort: z.int().min(0).max(65_535).optional(),
  metricsHost: z.string().min(1),
  exitAfterOutageMs: z.int().min(1_000).max(86_400_000).optional(),
});

/** Options with every default filled in. */
export type ResolvedWorkerOptions = z.output<typeof schema> & { logger?: Logger | undefined };

/**
 * Fills in defaults and validates.
 * @throws TypeError naming the first bad option and its value.
 */
export function resolveWorkerOptions(input: WorkerOptions): ResolvedWorkerOptions {
  const leaseMs = input.leaseMs ?? 30_000;
  const candidate = {
    redisUrl: input.redisUrl ?? 'redis://127.0.0.1:6379',
    queue: input.queue ?? 'default',
    namespace: input.namespace ?? 'forklift',
    shards: input.shards ?? 1,
    concurrency: input.concurrency ?? availableParallelism(),
    prefetch: input.prefetch ?? 0,
    weights: input.weights,
    leaseMs,
    graceMs: input.graceMs ?? 30_000,
    maxTasksPerChild: input.maxTasksPerChild,
    maxChildMemoryMb: input.maxChildMemoryMb,
    handlersModule: input.handlersModule,
    maxBlockMs: input.maxBlockMs ?? 25_000,
    tickMs: input.tickMs ?? Math.min(15_000, Math.floor(leaseMs / 2)),
    hostId: input.hostId,
    metricsPort: input.metricsPort,
    metricsHost: input.metricsHost ?? '127.0.0.1',
    exitAfterOutageMs: input.exitAfterOutageMs,
  };
  const parsed = schema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'options');
    const value = (candidate as Record<string, unknown>)[name];
    throw new TypeError(
      `Invalid worker option ${name}=${JSON.stringify(value)}: ${issue?.message}`,
    );
  }
  return { ...parsed.data, logger: input.logger };
}
