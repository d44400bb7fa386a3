/**
 * `startWorkerHost`: one worker host = one ioredis command connection, one dedicated blocking
 * connection, and a pool of forked children, each with a Redis connection of its own.
 *
 * What each process owns (see pool/protocol.ts): the host leases for idle slots, supervises the
 * children (spawn, run clocks, kills) and, when a child dies, ends what it held; a busy child
 * runs its line and settles every run itself. The host also renews the leases of what its
 * children hold, beats, reaps the tasks of hosts that are gone, and promotes due delayed tasks
 * (upkeep.ts).
 *
 * Start-up: the children start first; a handlers module that does not load fails the start
 * with its message, before the host registers. Shutdown (`close`, or SIGTERM/SIGINT through the
 * CLI): stop claiming; busy children finish the run they are in and give back the rest of
 * their line; after `graceMs` the running tasks' AbortSignals fire and, a second later, the
 * children are killed and what they held goes back to the head of its lane, attempt refunded.
 * Then the host unregisters and disconnects. Every Redis call of a shutdown has a time limit,
 * so a shutdown ends even while Redis does not answer. `close({ force: true })` (a second
 * signal) skips the waits.
 */

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { queueKeys } from '../shared/keys.js';
import { QueueClient } from '../shared/queue-client.js';
import { ClaimLoop } from './claim-loop.js';
import { toLeasedTask } from './engine/claimed-task.js';
import { type ClaimedTask, HostScripts, type RunEnd } from './engine/host-scripts.js';
import { strictLaneOrder, weightedLaneOrder } from './engine/lane-order.js';
import { createLogger } from './logger.js';
import { HostMetrics } from './metrics.js';
import { type Offer, ProcessPool, type SlotLoss } from './pool/pool.js';
import type { EndedRun, LeasedTask, RunError } from './pool/protocol.js';
import { connectRedis } from './redis/connect.js';
import { ioredisTransport } from './redis/ioredis-transport.js';
import { redactRedisUrl } from './redis/redact.js';
import { hostTtlFor, startUpkeep } from './upkeep.js';
import { resolveWorkerOptions, type WorkerOptions } from './worker-options.js';

/** A running worker host. */
export interface WorkerHost {
  /** This host's id (its token hash is `forklift:{queue}:tokens:<hostId>`). */
  readonly hostId: string;
  /**
   * Shuts down gracefully (see above); resolves when done. Calling it again with
   * `{ force: true }` cuts the waits short.
   */
  close(options?: { force?: boolean; graceMs?: number }): Promise<void>;
  /** Pids of the live child processes. */
  pids(): number[];
  /** The port metrics are served on, when `metricsPort` was given. */
  readonly metricsPort: number | undefined;
}

/** Why a worker host could not start; its message names the setting or the service at fault. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** The built-in handlers module (the `square` task and any others declared in shared/tasks). */
export const BUILTIN_HANDLERS = fileURLToPath(
  new URL(`./handlers/index.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url),
);

/** How long one Redis call of a shutdown may take before the host goes on without it. */
const SHUTDOWN_CALL_MS = 3_000;

/** `promise`, or a rejection after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The text a failed run is recorded with. */
function errorText(error: RunError): string {
  return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
}

/**
 * Starts a worker host; resolves once its children are ready and it is registered.
 * @throws StartupError naming the handlers module or the Redis URL when either is at fault.
 */
export async function startWorkerHost(input: WorkerOptions): Promise<WorkerHost> {
  const options = resolveWorkerOptions(input);
  const log: Logger = options.logger ?? createLogger();
  const keys = queueKeys(options.queue, options.namespace);
  const hostId = options.hostId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const hostLog = log.child({ queue: options.queue, host: hostId });
  const handlersModule = options.handlersModule ?? BUILTIN_HANDLERS;
  if (!existsSync(handlersModule)) {
    throw new StartupError(`the handlers module ${handlersModule} does not exist`);
  }
  const hostTtlMs = hostTtlFor(options.leaseMs, options.tickMs);
  const laneOrder = options.weights ? weightedLaneOrder(options.weights) : strictLaneOrder;

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
  const pending = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    pending.add(promise);
    void promise.finally(() => pending.delete(promise)).catch(() => {});
    return promise;
  };
  let metrics: HostMetrics | undefined;
  let stopping = false;
  /** Set once running tasks were told to abort: a run that dies then is given back, not failed. */
  let abortedForShutdown = false;

  /** Logs (and counts) runs a child ended. */
  function onEnded(runs: readonly { run: EndedRun; task: LeasedTask | undefined }[]): void {
    metrics?.finished(runs);
    for (const { run, task } of runs) {
      const about = { taskId: run.id, type: task?.task.type, attempt: task?.task.attempt };
      if (run.outcome === 'released') {
        hostLog.debug(about, 'task given back unstarted or aborted, attempt refunded');
      } else if (!run.ok && run.error) {
        hostLog[run.error.unrecoverable ? 'error' : 'warn'](
          { ...about, error: run.error.message, errorName: run.error.name },
          'task attempt failed',
        );
      } else if (run.outcome === 'succeeded') hostLog.debug(about, 'task succeeded');
      if (run.outcome === 'dead') hostLog.error(about, 'task is dead');
      if (run.outcome === 'lost')
        hostLog.warn(about, 'lease was lost before the run ended; its outcome was not stored');
    }
  }

  /**
   * Ends what a dead child held: its run fails with the child's error (or is given back at the
   * end of a shutdown), the rest goes back unstarted, and every token of the slot is freed
   * (giving back any task a token holds that the child never reported). Retried until Redis
   * answers, or, once the host is stopping, for a few seconds.
   */
  async function endLoss(loss: SlotLoss): Promise<void> {
    const { running, error, waiting, tokens } = loss;
    metrics?.lost(running, error, loss.startedAt);
    const runs: RunEnd[] = [];
    if (running) {
      const { token, lease } = running;
      const id = running.task.id;
      if (abortedForShutdown) runs.push({ token, id, lease, kind: 'release' });
      else {
        hostLog[error.unrecoverable ? 'error' : 'warn'](
          {
            taskId: id,
            type: running.task.type,
            attempt: running.task.attempt,
            error: error.message,
            errorName: error.name,
          },
          'task attempt failed',
        );
        runs.push({
          token,
          id,
          lease,
          kind: error.unrecoverable ? 'fatal' : 'fail',
          error: errorText(error),
        });
      }
    }
    for (const t of waiting)
      runs.push({ token: t.token, id: t.task.id, lease: t.lease, kind: 'release' });
    const ended = new Set(runs.map((r) => r.token));
    const others = tokens.filter((token) => !ended.has(token));
    for (let tries = 0; ; tries++) {
      try {
        const reply = await within(
          scripts.finish(runs, { free: true }, others),
          SHUTDOWN_CALL_MS * 10,
          'finish',
        );
        if (reply.outcomes[0] === 'dead' && running && !abortedForShutdown)
          hostLog.error({ taskId: running.task.id }, 'task is dead');
        return;
      } catch (err) {
        if (stopping && tries >= 2) {
          hostLog.error(
            { err, taskIds: runs.map((r) => r.id) },
            'could not end the tasks of a stopped child; their leases will expire and they will run again',
          );
          return;
        }
        hostLog.warn(
          { err, taskIds: runs.map((r) => r.id) },
          'ending the tasks of a dead child failed; retrying',
        );
        await sleep(Math.min(250 * 2 ** tries, 5_000));
      }
    }
  }

  const pool = new ProcessPool({
    size: options.concurrency,
    handlersModule,
    maxTasksPerChild: options.maxTasksPerChild,
    maxChildMemoryMb: options.maxChildMemoryMb,
    tokensPerSlot: 1 + options.prefetch,
    child: {
      redisUrl: options.redisUrl,
      queue: options.queue,
      namespace: options.namespace,
      hostId,
      leaseMs: options.leaseMs,
      weights: options.weights ?? null,
    },
    logger: hostLog,
    events: {
      ready: () => claimLoop.wake(),
      idle: () => claimLoop.wakeIfIdle(),
      ended: (_slot, runs) => onEnded(runs),
      lost: (loss) => track(endLoss(loss)),
    },
  });

  /**
   * Hands what a claim leased to the offered slots. A record that does not decode is sent to
   * dead first, while its slot is still the host's; a slot that no longer takes its tasks (its
   * child died, or the host is closing) gets them given back.
   */
  async function handOut(offers: readonly Offer[], leased: readonly ClaimedTask[]): Promise<void> {
    for (const offer of offers) {
      const mine = leased.filter((claimed) => offer.tokens.includes(claimed.token));
      const tasks: LeasedTask[] = [];
      const corrupt: RunEnd[] = [];
      for (const claimed of mine) {
        const decoded = toLeasedTask(claimed);
        if ('task' in decoded) tasks.push(decoded);
        else {
          hostLog.error(
            { taskId: claimed.id, error: decoded.error },
            'task record is corrupted; sending it to dead',
          );
          corrupt.push(decoded.end);
        }
      }
      if (corrupt.length > 0) {
        try {
          await scripts.finish(corrupt, { free: true });
        } catch (error) {
          hostLog.warn(
            { err: error },
            'could not send a corrupted record to dead; its lease will expire',
          );
        }
      }
      if (!pool.handOut(offer.slot, tasks)) {
        const runs: RunEnd[] = tasks.map((t) => ({
          token: t.token,
          id: t.task.id,
          lease: t.lease,
          kind: 'release',
        }));
        track(scripts.finish(runs, { free: true })).catch((error: unknown) =>
          hostLog.warn(
            { err: error },
            'could not give back tasks its slot no longer takes; their leases will expire',
          ),
        );
      }
    }
  }

  const claimLoop = new ClaimLoop({
    scripts,
    commands,
    blocking,
    keys,
    offer: () => pool.offer(),
    laneOrder,
    leaseMs: options.leaseMs,
    maxBlockMs: options.maxBlockMs,
    log: hostLog,
    handOut,
  });

  // Start-up: a failure at any step undoes the steps before it and leaves nothing behind.
  let registered = false;
  let metricsServer: { port: number; close(): Promise<void> } | undefined;
  try {
    await scripts.load();
    try {
      await pool.start();
    } catch (error) {
      throw new StartupError(
        `the handlers module ${handlersModule} did not load in a child process: ${(error as Error).message}`,
      );
    }
    try {
      await scripts.register(
        hostTtlMs,
        {
          hostname: hostname(),
          pid: process.pid,
          concurrency: options.concurrency,
          prefetch: options.prefetch,
          weights: options.weights ?? null,
        },
        pool.allTokens,
      );
    } catch (error) {
      throw new StartupError(
        `Redis at ${redactRedisUrl(options.redisUrl)} did not answer: ${(error as Error).message}`,
      );
    }
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
  } catch (error) {
    pool.killAll({ name: 'StartupError', message: 'start-up failed', unrecoverable: false });
    await metricsServer?.close();
    if (registered)
      await within(scripts.unregister(), SHUTDOWN_CALL_MS, 'unregister').catch(() => {});
    commands.disconnect();
    blocking.disconnect();
    throw error;
  }
  claimLoop.start();
  const stopUpkeep = startUpkeep({
    scripts,
    leases: () => pool.leases(),
    holds: (id) => pool.holds(id),
    tokens: pool.allTokens,
    leaseMs: options.leaseMs,
    tickMs: options.tickMs,
    hostTtlMs,
    log: hostLog,
    track,
  });
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
  let isForced = false;
  const forced = new Promise<void>((resolve) => {
    forceNow = () => {
      isForced = true;
      resolve();
    };
  });
  /** How long a shutdown's Redis call may take: a forced shutdown barely waits. */
  const callLimit = () => (isForced ? 300 : SHUTDOWN_CALL_MS);

  /** Resolves when the pool holds no task, after `ms`, or when forced. */
  async function emptyWithin(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    const empty = (async () => {
      while (pool.inFlight > 0 && Date.now() < deadline) await sleep(25);
    })();
    await Promise.race([empty, forced]);
  }

  async function shutdown(graceMs: number): Promise<void> {
    stopping = true;
    hostLog.info({ graceMs }, 'shutting down: no new tasks; waiting for running ones');
    await Promise.race([claimLoop.stop(), sleep(SHUTDOWN_CALL_MS), forced]);
    pool.beginClose();
    await emptyWithin(graceMs);
    if (pool.inFlight > 0) {
      abortedForShutdown = true;
      pool.abortRunning('worker host shutting down');
      await emptyWithin(1_000);
    }
    const held = pool.killAll({
      name: 'ShutdownError',
      message: 'the worker host stopped before the run ended',
      unrecoverable: false,
    });
    abortedForShutdown = true;
    for (const loss of held) track(endLoss(loss));
    await Promise.race([Promise.allSettled([...pending]), sleep(SHUTDOWN_CALL_MS), forced]);
    stopUpkeep();
    try {
      await within(scripts.unregister(), callLimit(), 'unregister');
    } catch (error) {
      hostLog.warn({ err: error }, 'could not unregister the host; its entry expires with its TTL');
    }
    await metricsServer?.close();
    await within(commands.quit(), callLimit(), 'quit').catch(() => {});
    commands.disconnect();
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
