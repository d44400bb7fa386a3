/**
 * Set-up of a fault scenario: a private redis-server (optionally with an append-only file), the
 * fault proxy in front of it, and worker hosts that reach Redis only through the proxy, either
 * in this process (`startHost`, its logs kept for assertions) or as a `forklift worker` process
 * (`spawnHost`, so it can be killed with -9). The test's own commands go to Redis directly.
 *
 * `verify` checks the invariant every scenario must keep: every task succeeded with its correct
 * result, none is dead, and no two runs of one task were alive at once (fault-handlers.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { prepareBatch } from '../../../shared/enqueue-request.js';
import { QueueClient } from '../../../shared/queue-client.js';
import type { TaskView } from '../../../shared/task-record.js';
import { startWorkerHost, type WorkerHost } from '../../../worker-host/host.js';
import { ioredisTransport } from '../../../worker-host/redis/ioredis-transport.js';
import type { WorkerOptions } from '../../../worker-host/worker-options.js';
import { ROOT, TSX } from '../../support/cli.js';
import { waitFor } from '../../support/redis.js';
import { FAULT_HANDLERS, faultTasks, type OverlapLine, type RunLine } from './fault-handlers.js';
import { type RedisProxy, startRedisProxy } from './redis-proxy.js';
import { type FaultRedis, startFaultRedis } from './redis-server.js';

/** One task of a scenario. */
export interface WorkSpec {
  x: number;
  ms?: number;
  spin?: boolean;
  maxAttempts?: number;
  priority?: 'high' | 'normal' | 'low';
}

/** A log line of an in-process host. */
export type LogLine = { level: number; msg: string } & Record<string, unknown>;

const NAMESPACE = 'fault';

/** The scenario context of one test file. */
export function faultSuite(name: string, options: { appendonly?: boolean } = {}) {
  let server: FaultRedis;
  let proxy: RedisProxy;
  let direct: Redis;
  let queue: QueueClient;
  const hosts: WorkerHost[] = [];
  const processes: ChildProcess[] = [];
  let dir = '';
  let logs: LogLine[] = [];

  beforeAll(async () => {
    server = await startFaultRedis({ appendonly: options.appendonly ?? false });
    proxy = await startRedisProxy({ host: '127.0.0.1', port: server.port });
    direct = new Redis(server.url, { maxRetriesPerRequest: null });
    direct.on('error', () => {});
    queue = new QueueClient(ioredisTransport(direct), { namespace: NAMESPACE });
  });
  afterEach(async () => {
    for (const child of processes.splice(0)) {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // the group is gone
        }
      }
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }
    await Promise.all(hosts.splice(0).map((host) => host.close({ force: true, graceMs: 0 })));
    proxy.resume();
    proxy.refuse(false);
    await direct.flushall();
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = '';
    logs = [];
  });
  afterAll(async () => {
    direct.disconnect();
    await proxy.close();
    await server.kill();
  });

  return {
    get server(): FaultRedis {
      return server;
    },
    get proxy(): RedisProxy {
      return proxy;
    },
    get redis(): Redis {
      return direct;
    },
    get queue(): QueueClient {
      return queue;
    },
    /** Log lines of the in-process hosts of the current test. */
    logs: (): LogLine[] => logs,

    /** Enqueues `work` tasks (a fresh log directory per test); returns their ids in order. */
    async enqueue(specs: readonly WorkSpec[]): Promise<string[]> {
      dir ||= mkdtempSync(join(tmpdir(), `forklift-fault-${name}-`));
      const prepared = prepareBatch(
        faultTasks,
        specs.map((s) => ({
          type: 'work',
          payload: { x: s.x, ms: s.ms ?? 0, spin: s.spin ?? false, dir },
          ...(s.maxAttempts === undefined ? {} : { maxAttempts: s.maxAttempts }),
          ...(s.priority === undefined ? {} : { priority: s.priority }),
        })),
      );
      if (!prepared.ok) throw new Error(JSON.stringify(prepared.issues));
      const ids: string[] = [];
      for (let i = 0; i < prepared.specs.length; i += 1000) {
        const results = await queue.enqueue(prepared.specs.slice(i, i + 1000));
        ids.push(...results.map((r) => r.id));
      }
      return ids;
    },

    /** Starts a host in this process, reaching Redis through the proxy. */
    async startHost(overrides: WorkerOptions = {}): Promise<WorkerHost> {
      const stream = {
        write(line: string) {
          logs.push(JSON.parse(line) as LogLine);
        },
      };
      const host = await startWorkerHost({
        redisUrl: proxy.url,
        namespace: NAMESPACE,
        handlersModule: FAULT_HANDLERS,
        leaseMs: 1_000,
        concurrency: 2,
        logger: pino({ level: 'debug' }, stream),
        ...overrides,
      });
      hosts.push(host);
      return host;
    },

    /**
     * Starts `forklift worker ARGS` (through the proxy) in a process group of its own; resolves
     * with the child and the pid of the host process once it has registered.
     */
    async spawnHost(
      args: string[],
    ): Promise<{ child: ChildProcess; hostPid: number; output(): string }> {
      const before = new Set(await direct.zrange(`${NAMESPACE}:{default}:hosts`, '0', '-1'));
      const child = spawn(
        TSX,
        ['worker-host/cli/main.ts', 'worker', '--handlers', FAULT_HANDLERS, ...args],
        {
          cwd: ROOT,
          env: {
            ...process.env,
            REDIS_URL: proxy.url,
            FORKLIFT_NAMESPACE: NAMESPACE,
            FORKLIFT_QUEUE: 'default',
            FORKLIFT_LOG_LEVEL: 'warn',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        },
      );
      processes.push(child);
      let output = '';
      child.stdout?.on('data', (d) => {
        output += d;
      });
      child.stderr?.on('data', (d) => {
        output += d;
      });
      const hostId = await waitFor(
        async () =>
          (await direct.zrange(`${NAMESPACE}:{default}:hosts`, '0', '-1')).find(
            (h) => !before.has(h),
          ),
        { what: `a new host to register; output: ${output}` },
      );
      const description = JSON.parse(
        (await direct.hget(`${NAMESPACE}:{default}:host:${hostId}`, 'description')) ?? '{}',
      ) as { pid: number };
      return { child, hostPid: description.pid, output: () => output };
    },

    /** The run log of the current test. */
    runs(): RunLine[] {
      return readLines<RunLine>(join(dir, 'runs.jsonl'));
    },

    /** Overlapping runs seen in the current test (there must be none). */
    overlaps(): OverlapLine[] {
      return readLines<OverlapLine>(join(dir, 'overlaps.jsonl'));
    },

    /** Waits until every task in `ids` is succeeded or dead; returns their views in order. */
    async settled(ids: readonly string[], timeoutMs = 60_000): Promise<TaskView[]> {
      const deadline = Date.now() + timeoutMs;
      const views: TaskView[] = [];
      for (const id of ids) {
        views.push(
          await waitFor(
            async () => {
              const view = await queue.getTask(id);
              return view && (view.state === 'succeeded' || view.state === 'dead') ? view : null;
            },
            { timeoutMs: Math.max(1, deadline - Date.now()), what: `task ${id} to end` },
          ),
        );
      }
      return views;
    },

    /**
     * The invariant: every task succeeded with x*x (none dead: no handler here fails), and no two
     * runs of one task overlapped. Returns the views.
     */
    async verify(
      ids: readonly string[],
      xs: readonly number[],
      timeoutMs?: number,
    ): Promise<TaskView[]> {
      const views = await this.settled(ids, timeoutMs);
      const dead = views.filter((v) => v.state !== 'succeeded');
      expect(dead.map((v) => ({ id: v.id, state: v.state, error: v.error }))).toEqual([]);
      for (const [i, view] of views.entries()) expect(view.result).toBe((xs[i] ?? 0) ** 2);
      expect(this.overlaps()).toEqual([]);
      return views;
    },
  };
}

function readLines<T>(file: string): T[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);
}
