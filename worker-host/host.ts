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
 *
 * Health (health.ts): with `metricsPort`, the host serves `GET /healthz` and `GET /readyz` beside
 * `GET /metrics` (http-server.ts), from what it already tracks: no probe costs a Redis call.
 * With `exitAfterOutageMs`, a host that has not reached Redis for that long gives up: it kills
 * its children (nothing can be settled without Redis; their tasks are reaped as stalls once the
 * host's TTL runs out), stops, and `stoppedByOutage` resolves (the CLI exits with code 75).
 */

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { asShardMismatch, ShardMismatchError } from '../shared/errors.js';
import { queueKeys, shardKeys } from '../shared/keys.js';
import { QueueClient } from '../shared/queue-client.js';
import { ClaimLoop } from './claim-loop.js';
import { type ClaimedTask, HostScripts } from './engine/host-scripts.js';
import { strictLaneOrder, weightedLaneOrder } from './engine/lane-order.js';
import { ShardScripts } from './engine/shard-scripts.js';
import { EventLoopWatch, RedisContact, readiness, redisStaleMs } from './health.js';
import { HostSlots, within } from './host-slots.js';
import { type HostHttpServer, serveHostHttp } from './http-server.js';
import { createLogger } from './logger.js';
import { HostMetrics } from './metrics.js';
import { type Offer, ProcessPool } from './pool/pool.js';
import { connectRedis } from './redis/connect.js';
import { ioredisTransport } from './redis/ioredis-transport.js';
import { redactRedisUrl } from './redis/redact.js';
import { ShardClaimLoop } from './shard-claim-loop.js';
import { hostTtlFor, startUpkeep } from './upkeep.js';
import { hostVitals } from './vitals.js';
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
  /** The port metrics (and `/healthz`, `/readyz`) are served on, when `metricsPort` was given. */
  readonly metricsPort: number | undefined;
  /**
   * Resolves once the host has stopped by itself after a Redis outage longer than
   * `exitAfterOutageMs` (its children killed, its connections closed); never otherwise.
   */
  readonly stoppedByOutage: Promise<OutageStop>;
}

/** Why a host stopped by itself (`WorkerHost.stoppedByOutage`). */
export interface OutageStop {
  /** How long Redis had been unreachable, ms. */
  outageMs: number;
  /** The last connection or call error, if one was seen. */
  lastError: string | undefined;
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

/** How often the host looks at its outage clock when `exitAfterOutageMs` is set. */
const OUTAGE_CHECK_MS = 500;

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
  // When Redis last answered: fed by the upkeep calls and by the command connection's events.
  const contact = new RedisContact(redisStaleMs(options.tickMs));
  const commands = connectRedis(options.redisUrl, {
    name: `forklift:${hostId}`,
    onError: (error) => {
      contact.failed(error);
      onRedisError(error);
    },
  });
  // 'ready' follows the connection's ready check (an INFO reply): Redis answered.
  commands.on('ready', () => contact.answered());
  commands.on('close', () => contact.closed());
  // A sharded queue (shards > 1): one blocking connection per shard (see shard-claim-loop.ts).
  const sharded = options.shards > 1;
  const allKeys = shardKeys(options.queue, options.namespace, options.shards);
  const blockingAll = allKeys.map((_, shard) =>
    connectRedis(options.redisUrl, {
      name: sharded ? `forklift:${hostId}:wait:${shard}` : `forklift:${hostId}:wait`,
      blocking: true,
      onError: onRedisError,
    }),
  );
  const blocking = blockingAll[0] as (typeof blockingAll)[number];
  const plainScripts = sharded ? undefined : new HostScripts(commands, keys, hostId);
  const shardScripts = sharded
    ? new ShardScripts(commands, allKeys, hostId, options.queue, options.namespace)
    : undefined;
  const scripts = (shardScripts ?? plainScripts) as HostScripts | ShardScripts;
  const pending = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    pending.add(promise);
    void promise.finally(() => pending.delete(promise)).catch(() => {});
    return promise;
  };
  const slots = new HostSlots({ scripts, log: hostLog, track });

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
      ...(sharded ? { shards: options.shards } : {}),
      hostId,
      leaseMs: options.leaseMs,
      weights: options.weights ?? null,
    },
    logger: hostLog,
    events: {
      ready: () => claimLoop.wake(),
      idle: () => claimLoop.wakeIfIdle(),
      ended: (_slot, runs) => slots.ended(runs),
      lost: (loss) => track(slots.endLoss(loss)),
    },
  });

  const loopOptions = {
    commands,
    offer: () => pool.offer(),
    laneOrder,
    leaseMs: options.leaseMs,
    maxBlockMs: options.maxBlockMs,
    log: hostLog,
    handOut: (offers: readonly Offer[], leased: readonly ClaimedTask[]) =>
      slots.handOut(pool, offers, leased),
  };
  const claimLoop = shardScripts
    ? new ShardClaimLoop({
        ...loopOptions,
        scripts: shardScripts,
        blocking: blockingAll,
        keys: allKeys,
      })
    : new ClaimLoop({
        ...loopOptions,
        scripts: plainScripts as HostScripts,
        blocking,
        keys,
      });

  // Start-up: a failure at any step undoes the steps before it and leaves nothing behind.
  let registered = false;
  let httpServer: HostHttpServer | undefined;
  let loopWatch: EventLoopWatch | undefined;
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
      // The shard-count guard: a host whose count differs from the queue's does not start.
      await (plainScripts?.declareShards(1) ?? shardScripts?.declare());
    } catch (error) {
      const known = asShardMismatch(error, options.queue);
      if (known instanceof ShardMismatchError) throw new StartupError(known.message);
      throw new StartupError(
        `Redis at ${redactRedisUrl(options.redisUrl)} did not answer: ${(error as Error).message}`,
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
    contact.beat();
    if (options.metricsPort !== undefined) {
      const client = new QueueClient(ioredisTransport(commands), {
        queue: options.queue,
        namespace: options.namespace,
        shards: options.shards,
      });
      slots.metrics = new HostMetrics(
        options.queue,
        () => client.stats(),
        () => pool.pids().length,
      );
      const watch = new EventLoopWatch();
      loopWatch = watch;
      httpServer = await serveHostHttp(
        {
          metrics: slots.metrics,
          liveness: () => watch.report(hostId),
          readiness: () =>
            readiness({
              host: hostId,
              redis: contact,
              children: () => ({ live: pool.readyChildren, of: options.concurrency }),
              hostTtlMs,
              stopping: () => slots.stopping,
            }),
        },
        options.metricsPort,
        options.metricsHost,
      );
      hostLog.info(
        { port: httpServer.port },
        'metrics served at GET /metrics, health at GET /healthz and GET /readyz',
      );
    }
  } catch (error) {
    pool.killAll({ name: 'StartupError', message: 'start-up failed', unrecoverable: false });
    loopWatch?.stop();
    await httpServer?.close();
    if (registered)
      await within(scripts.unregister(), SHUTDOWN_CALL_MS, 'unregister').catch(() => {});
    commands.disconnect();
    for (const connection of blockingAll) connection.disconnect();
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
    contact,
    vitals: () => hostVitals(pool.pids()),
  });
  hostLog.info(
    {
      concurrency: options.concurrency,
      prefetch: options.prefetch,
      weights: options.weights ?? 'strict',
      leaseMs: options.leaseMs,
      exitAfterOutageMs: options.exitAfterOutageMs ?? 'off',
    },
    'worker host started',
  );

  let closing: Promise<void> | undefined;
  let resolveOutage: (stop: OutageStop) => void = () => {};
  const stoppedByOutage = new Promise<OutageStop>((resolve) => {
    resolveOutage = resolve;
  });
  const { exitAfterOutageMs } = options;
  const outageTimer =
    exitAfterOutageMs === undefined
      ? undefined
      : setInterval(() => {
          if (closing) return;
          const redis = contact.state();
          if (redis.outageMs >= exitAfterOutageMs)
            closing = giveUp(redis.outageMs, redis.lastError);
        }, OUTAGE_CHECK_MS);
  outageTimer?.unref();

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

  /** Resolves when no child holds work, after `ms`, or when forced. */
  async function emptyWithin(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    const empty = (async () => {
      while (pool.busySlots > 0 && Date.now() < deadline) await sleep(25);
    })();
    await Promise.race([empty, forced]);
  }

  /**
   * Stops after a Redis outage of `exitAfterOutageMs`: kills the children at once (without Redis
   * nothing they hold can be settled or given back; once this host's TTL runs out any other
   * host's reaper puts their tasks back at the head of their lanes, as stalls) and closes
   * everything without a word to Redis.
   */
  async function giveUp(outageMs: number, lastError: string | undefined): Promise<void> {
    slots.stopping = true;
    clearInterval(outageTimer);
    stopUpkeep();
    const children = pool.pids().length;
    hostLog.error(
      { outageMs, exitAfterOutageMs, lastError, children, hostTtlMs },
      `Redis has been unreachable for ${Math.round(outageMs / 1000)} s (exit after an outage of ${Math.round((exitAfterOutageMs ?? 0) / 1000)} s): killing the children and stopping; the tasks they held go back to their lanes as stalls once this host's TTL has run out`,
    );
    const held = pool.killAll({
      name: 'RedisOutageError',
      message: 'the worker host gave up after a Redis outage',
      unrecoverable: false,
    });
    const tasks = held.reduce((n, loss) => n + (loss.running ? 1 : 0) + loss.waiting.length, 0);
    void claimLoop.stop().catch(() => {});
    loopWatch?.stop();
    await httpServer?.close();
    commands.disconnect();
    for (const connection of blockingAll) connection.disconnect();
    hostLog.error({ tasksLeftToReap: tasks }, 'worker host stopped after a Redis outage');
    resolveOutage({ outageMs, lastError });
  }

  async function shutdown(graceMs: number): Promise<void> {
    slots.stopping = true;
    clearInterval(outageTimer);
    hostLog.info({ graceMs }, 'shutting down: no new tasks; waiting for running ones');
    await Promise.race([claimLoop.stop(), sleep(SHUTDOWN_CALL_MS), forced]);
    pool.beginClose();
    await emptyWithin(graceMs);
    if (pool.busySlots > 0) {
      slots.abortedForShutdown = true;
      pool.abortRunning('worker host shutting down');
      await emptyWithin(1_000);
    }
    const held = pool.killAll({
      name: 'ShutdownError',
      message: 'the worker host stopped before the run ended',
      unrecoverable: false,
    });
    slots.abortedForShutdown = true;
    for (const loss of held) track(slots.endLoss(loss));
    await Promise.race([Promise.allSettled([...pending]), sleep(SHUTDOWN_CALL_MS), forced]);
    stopUpkeep();
    try {
      await within(scripts.unregister(), callLimit(), 'unregister');
    } catch (error) {
      hostLog.warn({ err: error }, 'could not unregister the host; its entry expires with its TTL');
    }
    loopWatch?.stop();
    await httpServer?.close();
    await within(commands.quit(), callLimit(), 'quit').catch(() => {});
    commands.disconnect();
    for (const connection of blockingAll) connection.disconnect();
    hostLog.info('worker host stopped');
  }

  return {
    hostId,
    pids: () => pool.pids(),
    metricsPort: httpServer?.port,
    stoppedByOutage,
    close(closeOptions = {}) {
      if (closeOptions.force) forceNow?.();
      closing ??= shutdown(closeOptions.graceMs ?? options.graceMs);
      return closing;
    },
  };
}
