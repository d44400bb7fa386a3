/**
 * `startWorkerHost`: one worker host = one ioredis command connection, one dedicated blocking
 * connection, a pool of forked children and the dispatcher between them.
 *
 * Shutdown (`close`, or SIGTERM/SIGINT through the CLI): stop claiming; children finish what
 * they hold; after `graceMs` the running tasks' AbortSignals fire and, a second later, the
 * children are killed and every unfinished task goes back to the head of its lane with its
 * attempt refunded. Then the host unregisters and disconnects. `close({ force: true })` (a
 * second signal) skips the wait.
 */

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { queueKeys } from '../shared/keys.js';
import { QueueClient } from '../shared/queue-client.js';
import { Dispatcher } from './dispatcher.js';
import { HostScripts } from './engine/host-scripts.js';
import { strictLaneOrder, weightedLaneOrder } from './engine/lane-order.js';
import { createLogger } from './logger.js';
import { HostMetrics } from './metrics.js';
import { ProcessPool } from './pool/pool.js';
import { connectRedis } from './redis/connect.js';
import { ioredisTransport } from './redis/ioredis-transport.js';
import { resolveWorkerOptions, type WorkerOptions } from './worker-options.js';

/** A running worker host. */
export interface WorkerHost {
  /** This host's id (its token list is `forklift:{queue}:tokens:<hostId>`). */
  readonly hostId: string;
  /**
   * Shuts down gracefully (see above); resolves when done. Calling it again with
   * `{ force: true }` cuts the grace period short.
   */
  close(options?: { force?: boolean; graceMs?: number }): Promise<void>;
  /** Pids of the live child processes. */
  pids(): number[];
  /** The port metrics are served on, when `metricsPort` was given. */
  readonly metricsPort: number | undefined;
}

/** The built-in handlers module (the `square` task and any others declared in shared/tasks). */
export const BUILTIN_HANDLERS = fileURLToPath(
  new URL(`./handlers/index.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url),
);

/** Starts a worker host; resolves once it is registered and its children are starting. */
export async function startWorkerHost(input: WorkerOptions): Promise<WorkerHost> {
  const options = resolveWorkerOptions(input);
  const log: Logger = options.logger ?? createLogger();
  const keys = queueKeys(options.queue, options.namespace);
  const hostId = options.hostId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const hostLog = log.child({ queue: options.queue, host: hostId });

  const onRedisError = (error: Error) =>
    hostLog.warn({ err: error.message }, 'redis connection error');
  const commands = connectRedis(options.redisUrl, {
    name: `forklift:${hostId}`,
    onError: onRedisError,
  });
  const blocking = connectRedis(options.redisUrl, {
    name: `forklift:${hostId}:wait`,
    blocking: true,
    onError: onRedisError,
  });
  const scripts = new HostScripts(commands, keys, hostId);

  let dispatcher: Dispatcher | undefined;
  let metrics: HostMetrics | undefined;
  const pool = new ProcessPool({
    size: options.concurrency,
    handlersModule: options.handlersModule ?? BUILTIN_HANDLERS,
    maxTasksPerChild: options.maxTasksPerChild,
    maxChildMemoryMb: options.maxChildMemoryMb,
    settle: {
      redisUrl: options.redisUrl,
      queue: options.queue,
      namespace: options.namespace,
      hostId,
      leaseMs: options.leaseMs,
      lineSize: 1 + options.prefetch,
      weights: options.weights ?? null,
    },
    logger: hostLog,
    events: {
      ready: () => dispatcher?.onSlotReady(),
      outcomes: (slot, finished) => {
        metrics?.finished(finished);
        dispatcher?.onOutcomes(slot, finished);
      },
      discovered: (_slot, task) => dispatcher?.onDiscovered(task),
      givenBack: (_slot, tasks) => dispatcher?.onGivenBack(tasks),
      settled: (slot, report) => {
        metrics?.finished(report.finished);
        dispatcher?.onSettled(slot, report);
      },
      lost: (slot, running, error, waiting) => {
        metrics?.lost(running, error);
        dispatcher?.onLost(slot, running, error, waiting);
      },
    },
  });
  dispatcher = new Dispatcher(
    scripts,
    commands,
    blocking,
    keys,
    pool,
    options.weights ? weightedLaneOrder(options.weights) : strictLaneOrder,
    { leaseMs: options.leaseMs, tickMs: options.tickMs, maxBlockMs: options.maxBlockMs },
    hostLog,
    options.concurrency,
    1 + options.prefetch,
  );
  const d = dispatcher;

  // Start-up: a failure at any step undoes the steps before it and leaves nothing behind.
  let registered = false;
  let metricsServer: { port: number; close(): Promise<void> } | undefined;
  try {
    await scripts.load();
    await scripts.register(
      options.tickMs * 3,
      {
        hostname: hostname(),
        pid: process.pid,
        concurrency: options.concurrency,
        prefetch: options.prefetch,
        weights: options.weights ?? null,
      },
      d.allTokens,
    );
    registered = true;
    if (options.metricsPort !== undefined) {
      const client = new QueueClient(ioredisTransport(commands), {
        queue: options.queue,
        namespace: options.namespace,
      });
      metrics = new HostMetrics(
        options.queue,
        () => client.stats(),
        () => pool.pids().length,
      );
      metricsServer = await metrics.serve(options.metricsPort, options.metricsHost);
      hostLog.info({ port: metricsServer.port }, 'metrics served at GET /metrics');
    }
    pool.start();
  } catch (error) {
    await metricsServer?.close();
    if (registered) await scripts.unregister().catch(() => {});
    commands.disconnect();
    blocking.disconnect();
    throw error;
  }
  d.start();
  hostLog.info(
    {
      concurrency: options.concurrency,
      prefetch: options.prefetch,
      weights: options.weights ?? 'strict',
      leaseMs: options.leaseMs,
    },
    'worker host started',
  );

  let closing: Promise<void> | undefined;
  let forceNow: (() => void) | undefined;
  const forced = new Promise<void>((resolve) => {
    forceNow = resolve;
  });

  /** Resolves when the pool holds no task, or after `ms`. */
  async function emptyWithin(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (pool.inFlight > 0 && Date.now() < deadline) await sleep(25);
  }

  async function shutdown(graceMs: number): Promise<void> {
    hostLog.info({ graceMs }, 'shutting down: no new tasks; waiting for running ones');
    await d.stopClaiming();
    pool.beginClose();
    await Promise.race([emptyWithin(graceMs), forced]);
    if (pool.inFlight > 0) {
      d.markAbortedForShutdown();
      pool.abortRunning('worker host shutting down');
      await Promise.race([emptyWithin(1_000), forced]);
      const held = pool.killAll();
      try {
        await d.releaseHeld(held);
      } catch (error) {
        hostLog.error(
          { err: error },
          'could not release unfinished tasks; their leases will expire',
        );
      }
    } else {
      pool.killAll();
    }
    await d.drainPending();
    d.stopTimers();
    try {
      await scripts.unregister();
    } catch (error) {
      hostLog.warn({ err: error }, 'could not unregister the host');
    }
    await metricsServer?.close();
    await commands.quit().catch(() => commands.disconnect());
    blocking.disconnect();
    hostLog.info('worker host stopped');
  }

  return {
    hostId,
    pids: () => pool.pids(),
    metricsPort: metricsServer?.port,
    close(closeOptions = {}) {
      if (closeOptions.force) forceNow?.();
      closing ??= shutdown(closeOptions.graceMs ?? options.graceMs);
      return closing;
    },
  };
}
