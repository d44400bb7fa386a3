/**
 * Shared set-up for the cluster tests: a private Redis Cluster per test file (test/support/
 * cluster.ts), a namespace of the file's own, a connection to the cluster made by the host's
 * own factory (`connectRedis` with a `redis+cluster://` URL), a queue client over it, worker
 * hosts started in-process on the cluster (closed after every test), and `forklift` CLI
 * processes with REDIS_URL naming the cluster. Nothing is mocked.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { prepareBatch } from '../../shared/enqueue-request.js';
import { type QueueKeys, queueKeys } from '../../shared/keys.js';
import { QueueClient } from '../../shared/queue-client.js';
import type { TaskRegistry } from '../../shared/task-definition.js';
import type { TaskView } from '../../shared/task-record.js';
import type { TaskState } from '../../shared/task-state.js';
import { startWorkerHost, type WorkerHost } from '../../worker-host/host.js';
import { connectRedis, type RedisClient } from '../../worker-host/redis/connect.js';
import { ioredisTransport } from '../../worker-host/redis/ioredis-transport.js';
import type { WorkerOptions } from '../../worker-host/worker-options.js';
import { FIXTURE_HANDLERS, fixtureTasks } from '../fixtures/handlers.js';
import { type ClusterSetup, startCluster, type TestCluster } from '../support/cluster.js';
import { testNamespace, waitFor } from '../support/redis.js';

export { runForklift as forklift } from '../support/cli.js';
export { readRecords, spawnWorker } from '../worker/harness.js';

/** The cluster's URL with `password` in its user info (as a user would write it). */
export function withPassword(url: string, password: string): string {
  return url.replace('://', `://:${encodeURIComponent(password)}@`);
}

/** Per-file context on a private cluster (see the module comment). */
export function clusterSuite(name: string, setup: ClusterSetup = {}) {
  const namespace = testNamespace(name);
  const keys: QueueKeys = queueKeys('default', namespace);
  const dir = mkdtempSync(join(tmpdir(), `forklift-${name}-`));
  const hosts: WorkerHost[] = [];
  const processes: ChildProcess[] = [];
  let cluster: TestCluster | undefined;
  let redis: RedisClient | undefined;
  let queue: QueueClient | undefined;
  let url = '';
  let files = 0;

  beforeAll(async () => {
    cluster = await startCluster(setup);
    url = setup.password === undefined ? cluster.url : withPassword(cluster.url, setup.password);
    redis = connectRedis(url, { name: `test:${name}` });
    queue = new QueueClient(ioredisTransport(redis), { namespace, queue: 'default' });
  }, 60_000);
  afterEach(async () => {
    for (const child of processes.splice(0)) {
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
  });
  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the cluster suite is not set up yet');
    return value;
  };

  return {
    namespace,
    keys,
    get cluster(): TestCluster {
      return need(cluster);
    },
    /** The REDIS_URL naming the cluster (with the password, if any). */
    get url(): string {
      return url;
    },
    get redis(): RedisClient {
      return need(redis);
    },
    get queue(): QueueClient {
      return need(queue);
    },

    /** A fresh path for a `record` log. */
    logFile(): string {
      files++;
      return join(dir, `record-${files}.jsonl`);
    },

    /** Starts a host on the cluster with the fixture handlers; closed after the test. */
    async startHost(options: WorkerOptions = {}): Promise<WorkerHost> {
      const host = await startWorkerHost({
        redisUrl: url,
        namespace,
        handlersModule: FIXTURE_HANDLERS,
        leaseMs: 2_000,
        logger: pino({ level: process.env.FORKLIFT_TEST_LOG ?? 'silent' }),
        ...options,
      });
      hosts.push(host);
      return host;
    },

    /** Validates requests against `registry` (the fixtures by default); enqueues; the ids. */
    async enqueueIds(requests: readonly unknown[], registry: TaskRegistry = fixtureTasks) {
      const prepared = prepareBatch(registry, requests);
      if (!prepared.ok) throw new Error(`invalid test tasks: ${JSON.stringify(prepared.issues)}`);
      return (await need(queue).enqueue(prepared.specs)).map((r) => r.id);
    },

    /** Waits until task `id` is in one of `states`; returns its view. */
    async waitForState(
      id: string,
      states: TaskState | readonly TaskState[],
      timeoutMs = 15_000,
    ): Promise<TaskView> {
      const wanted: readonly TaskState[] = typeof states === 'string' ? [states] : states;
      return waitFor(
        async () => {
          const view = await need(queue).getTask(id);
          return view && wanted.includes(view.state) ? view : null;
        },
        { timeoutMs, what: `task ${id} to be ${wanted.join('|')}` },
      );
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

    /** Deletes every key of this file's namespace, on every master. */
    async clear(): Promise<void> {
      const c = need(cluster);
      for (const port of await c.masters()) {
        const node = c.node(port);
        try {
          let cursor = '0';
          do {
            const [next, found] = await node.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
            cursor = next;
            if (found.length > 0) await node.del(...found);
          } while (cursor !== '0');
        } finally {
          node.disconnect();
        }
      }
    },

    /** Remembers a spawned worker so that its process group is killed after the test. */
    track<C extends ChildProcess>(child: C): C {
      processes.push(child);
      return child;
    },

    /** Env for the CLI on this namespace, with REDIS_URL naming the cluster. */
    cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
      return {
        ...process.env,
        REDIS_URL: url,
        FORKLIFT_NAMESPACE: namespace,
        FORKLIFT_QUEUE: 'default',
        FORKLIFT_LOG_LEVEL: 'warn',
        ...extra,
      };
    },
  };
}
