/**
 * Shared set-up for the worker-host behaviour tests: a real Redis under a namespace of the
 * test file's own, hosts started in-process with the fixture handlers (and closed after every
 * test, also when it fails), the `forklift` CLI as a child process, and small readers for the
 * `record` log, task states and processes. Nothing is mocked.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach } from 'vitest';
import { prepareBatch } from '../../shared/enqueue-request.js';
import type { QueueClient } from '../../shared/queue-client.js';
import type { TaskRegistry } from '../../shared/task-definition.js';
import type { TaskView } from '../../shared/task-record.js';
import type { TaskState } from '../../shared/task-state.js';
import { startWorkerHost, type WorkerHost } from '../../worker-host/host.js';
import type { WorkerOptions } from '../../worker-host/worker-options.js';
import { FIXTURE_HANDLERS, fixtureTasks, type RecordLine } from '../fixtures/handlers.js';
import { ROOT, TSX } from '../support/cli.js';
import {
  deleteNamespace,
  scanKeys,
  testNamespace,
  testQueue,
  testRedis,
  waitFor,
} from '../support/redis.js';

export { ROOT, runForklift as forklift, TSX } from '../support/cli.js';
export { sleep } from '../support/redis.js';

/**
 * Per-file context: a namespace, a Redis connection, a queue client, a scratch directory, and
 * hosts/processes that are always stopped after each test. The namespace is emptied after each
 * test (unless a file-scoped host is running) and deleted at the end.
 */
export function workerSuite(name: string) {
  const namespace = testNamespace(name);
  const redis: Redis = testRedis();
  const queue: QueueClient = testQueue(redis, namespace);
  const dir = mkdtempSync(join(tmpdir(), `forklift-${name}-`));
  const hosts: WorkerHost[] = [];
  const fileHosts: WorkerHost[] = [];
  const processes: ChildProcess[] = [];
  let files = 0;

  afterEach(async () => {
    for (const child of processes.splice(0)) {
      // A worker runs in a process group of its own (tsx wrapper, host, children): end all.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // the group is already gone
        }
      }
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }
    await Promise.all(hosts.splice(0).map((host) => host.close({ force: true, graceMs: 0 })));
    // Each test starts from an empty queue (unless a host serves the whole file).
    if (fileHosts.length === 0) await deleteNamespace(redis, namespace);
  });
  afterAll(async () => {
    await Promise.all(fileHosts.splice(0).map((host) => host.close({ force: true, graceMs: 0 })));
    await deleteNamespace(redis, namespace);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  return {
    namespace,
    redis,
    queue,
    keys: queue.keys,

    /** A fresh path for a `record` log. */
    logFile(): string {
      files++;
      return join(dir, `record-${files}.jsonl`);
    },

    /**
     * Starts a host on this namespace with the fixture handlers; closed after the test, or
     * with `scope: 'file'` after the file.
     */
    async startHost(
      options: WorkerOptions = {},
      scope: 'test' | 'file' = 'test',
    ): Promise<WorkerHost> {
      const host = await startWorkerHost({
        namespace,
        handlersModule: FIXTURE_HANDLERS,
        leaseMs: 2_000,
        logger: pino({ level: process.env.FORKLIFT_TEST_LOG ?? 'silent' }),
        ...options,
      });
      (scope === 'file' ? fileHosts : hosts).push(host);
      return host;
    },

    /** Validates requests against `registry` (the fixtures by default) and enqueues them. */
    async enqueue(requests: readonly unknown[], registry: TaskRegistry = fixtureTasks) {
      const prepared = prepareBatch(registry, requests);
      if (!prepared.ok) throw new Error(`invalid test tasks: ${JSON.stringify(prepared.issues)}`);
      return queue.enqueue(prepared.specs);
    },

    /** Ids of `enqueue`. */
    async enqueueIds(requests: readonly unknown[], registry: TaskRegistry = fixtureTasks) {
      return (await this.enqueue(requests, registry)).map((r) => r.id);
    },

    /** Waits until task `id` is in one of `states`; returns its view. */
    async waitForState(
      id: string,
      states: TaskState | readonly TaskState[],
      timeoutMs = 15_000,
    ): Promise<TaskView> {
      const wanted: readonly TaskState[] = typeof states === 'string' ? [states] : states;
      let last: TaskView | null = null;
      try {
        return await waitFor(
          async () => {
            last = await queue.getTask(id);
            return last && wanted.includes(last.state) ? last : null;
          },
          { timeoutMs, what: `task ${id} to be ${wanted.join('|')}` },
        );
      } catch (error) {
        throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last)}`);
      }
    },

    /** Waits until every task in `ids` is in a final state; returns their views in order. */
    async waitForAll(
      ids: readonly string[],
      states: TaskState | readonly TaskState[] = ['succeeded', 'dead', 'canceled'],
      timeoutMs = 20_000,
    ): Promise<TaskView[]> {
      const views: TaskView[] = [];
      for (const id of ids) views.push(await this.waitForState(id, states, timeoutMs));
      return views;
    },

    /** Remembers a spawned worker so that its process group is killed after the test. */
    track<C extends ChildProcess>(child: C): C {
      processes.push(child);
      return child;
    },

    /** Env for the CLI on this namespace. */
    cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
      return {
        ...process.env,
        FORKLIFT_NAMESPACE: namespace,
        FORKLIFT_QUEUE: 'default',
        FORKLIFT_LOG_LEVEL: 'warn',
        ...extra,
      };
    },

    /** Every key under the namespace. */
    allKeys(): Promise<string[]> {
      return scanKeys(redis, `${namespace}:*`);
    },
  };
}

/** Reads a `record` log (missing file = no lines). */
export function readRecords(file: string): RecordLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as RecordLine);
}

/**
 * Starts `forklift worker ARGS` in a process group of its own (the caller tracks it). The
 * spawned process is tsx's wrapper, which relays signals and the exit code; the host is its
 * child (its pid is in the host's description in Redis).
 */
export function spawnWorker(
  args: string[],
  env: NodeJS.ProcessEnv,
): ChildProcess & {
  output(): string;
} {
  const child = spawn(TSX, ['worker-host/cli/main.ts', 'worker', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  return Object.assign(child, { output: () => output });
}

/** True while process `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Pids of the live pool children (child-main) of process `pid`. */
export function poolChildPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSafe('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== pid || fields[0] === 'Z') continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('child-main')) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

function readdirSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
