/**
 * The server side of the dashboard's browser tests, for either mount, against the real Redis:
 *
 * - `edge`: the REST gateway (forklift preset) in front of Redis and the edge Worker in workerd
 *   (Miniflare), with full and read-only API tokens;
 * - `node`: `forklift dashboard --port P --host 127.0.0.1` spawned from source (tsx) in a process
 *   group of its own, over ioredis, with the same tokens.
 *
 * Both get a key namespace of their own, a QueueClient (and a typed producer) to enqueue tasks
 * directly, and a worker host (in this process, its children forked) that a test starts and
 * stops. The browser reaches the dashboard at `http://localhost:<port>`: Chromium counts
 * localhost as a secure origin, so it keeps the `Secure` session cookie over plain HTTP.
 *
 * @example
 * const stack = await startDashboardStack('node');
 * await stack.producer.enqueue('square', { x: 3 });
 * await stack.startHost();
 * // browse `${stack.baseUrl}/ui/login`
 * await stack.close();
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { createProducer, type Producer } from '../../../shared/producer.js';
import type { QueueClient } from '../../../shared/queue-client.js';
import { startWorkerHost, type WorkerHost } from '../../../worker-host/host.js';
import { ROOT, TSX } from '../../support/cli.js';
import { edgeBindings, startTestEdge, type TestEdge } from '../../support/edge.js';
import { startTestGateway, type TestGateway } from '../../support/gateway.js';
import { freePort } from '../../support/ports.js';
import {
  deleteNamespace,
  sleep,
  TEST_REDIS_URL,
  testNamespace,
  testQueue,
  testRedis,
} from '../../support/redis.js';
import { BROWSER_HANDLERS, browserTasks } from './handlers.js';

/** Where the dashboard runs: in the edge Worker (workerd) or in `forklift dashboard` (Node). */
export type Mount = 'edge' | 'node';

/** A running dashboard with everything around it. */
export interface DashboardStack {
  readonly mount: Mount;
  /** `http://localhost:<port>`, the origin the browser uses. */
  readonly baseUrl: string;
  /** A token of FORKLIFT_API_TOKENS (may act). */
  readonly fullToken: string;
  /** A token of FORKLIFT_API_READONLY_TOKENS (sees, cannot act). */
  readonly readonlyToken: string;
  readonly namespace: string;
  /** A plain connection to the test Redis. */
  readonly redis: Redis;
  /** The queue the dashboard shows, over ioredis. */
  readonly queue: QueueClient;
  /** A typed producer of `square` and `gate` tasks on that queue. */
  readonly producer: Producer<typeof browserTasks>;
  /** A folder of this stack's own (for `gate` files); removed by `close`. */
  readonly dir: string;
  /** The running worker host, if started. */
  readonly host: WorkerHost | undefined;
  /** Starts a worker host (built-in `square` and the fixture `gate`); at most one at a time. */
  startHost(options?: { concurrency?: number }): Promise<WorkerHost>;
  /** Stops the worker host, if one runs (it unregisters itself). */
  stopHost(): Promise<void>;
  /** Output of the `forklift dashboard` process (node mount), for failure messages. */
  output(): string;
  /** Stops everything and deletes the namespace's keys; safe to call after a failed start. */
  close(): Promise<void>;
}

/** Makes a token that looks like a real one. */
function token(kind: string): string {
  return `browser-${kind}-${randomBytes(12).toString('hex')}`;
}

/** A host's log level in tests. */
const LOG_LEVEL = process.env.FORKLIFT_TEST_LOG_LEVEL ?? 'silent';

/**
 * Waits until `GET url` answers (any status below 500) or `timeoutMs` passes; `alive` reports
 * a server process that died meanwhile.
 */
async function untilAnswers(
  url: string,
  { timeoutMs, alive }: { timeoutMs: number; alive: () => string | null },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const dead = alive();
    if (dead) throw new Error(dead);
    try {
      const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      if (res.status < 500) return;
      last = `status ${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`${url} did not answer within ${timeoutMs} ms (last: ${last})`);
    }
    await sleep(200);
  }
}

/** Ends a process group: SIGTERM, then SIGKILL after `graceMs`. */
async function stopGroup(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), name);
    } catch {
      // the group is gone already
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  signal('SIGKILL'); // anything the group left behind
}

/** Starts the dashboard on `mount` with a fresh namespace, no worker host running yet. */
export async function startDashboardStack(mount: Mount): Promise<DashboardStack> {
  const namespace = testNamespace(`browser-${mount}`);
  const fullToken = token('full');
  const readonlyToken = token('ro');
  const redis = testRedis();
  const queue = testQueue(redis, namespace);
  const producer = createProducer(queue, browserTasks);
  const dir = mkdtempSync(join(tmpdir(), `forklift-browser-${mount}-`));

  let gateway: TestGateway | undefined;
  let edge: TestEdge | undefined;
  let dashboard: ChildProcess | undefined;
  let host: WorkerHost | undefined;
  let output = '';
  let closed = false;

  const close = async () => {
    if (closed) return;
    closed = true;
    const steps: (() => Promise<unknown> | undefined)[] = [
      () => host?.close({ graceMs: 1_000 }),
      () => edge?.dispose(),
      () => gateway?.close(),
      () => (dashboard ? stopGroup(dashboard) : undefined),
      () => deleteNamespace(redis, namespace),
    ];
    const errors: unknown[] = [];
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    }
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
    if (errors.length > 0) throw errors[0];
  };

  try {
    let port: number;
    if (mount === 'edge') {
      gateway = await startTestGateway({ allow: 'forklift' });
      edge = await startTestEdge({
        bindings: edgeBindings(gateway, {
          namespace,
          extra: {
            FORKLIFT_API_TOKENS: fullToken,
            FORKLIFT_API_READONLY_TOKENS: readonlyToken,
          },
        }),
      });
      port = Number(edge.url.port);
    } else {
      port = await freePort();
      const child = spawn(
        TSX,
        ['worker-host/cli/main.ts', 'dashboard', '--port', String(port), '--host', '127.0.0.1'],
        {
          cwd: ROOT,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            ...process.env,
            REDIS_URL: TEST_REDIS_URL,
            FORKLIFT_NAMESPACE: namespace,
            FORKLIFT_QUEUE: 'default',
            FORKLIFT_API_TOKENS: fullToken,
            FORKLIFT_API_READONLY_TOKENS: readonlyToken,
            FORKLIFT_LOG_LEVEL: process.env.FORKLIFT_TEST_LOG_LEVEL ?? 'warn',
          },
        },
      );
      dashboard = child;
      const collect = (chunk: Buffer) => {
        output = `${output}${chunk}`.slice(-20_000);
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
    }
    const baseUrl = `http://localhost:${port}`;
    await untilAnswers(`http://127.0.0.1:${port}/ui/login`, {
      timeoutMs: 45_000,
      alive: () => {
        if (!dashboard || (dashboard.exitCode === null && dashboard.signalCode === null)) {
          return null;
        }
        return `forklift dashboard exited (${dashboard.exitCode ?? dashboard.signalCode}) before answering:\n${output}`;
      },
    });

    return {
      mount,
      baseUrl,
      fullToken,
      readonlyToken,
      namespace,
      redis,
      queue,
      producer,
      dir,
      get host() {
        return host;
      },
      async startHost({ concurrency = 2 } = {}) {
        if (host) throw new Error('a worker host is running already');
        host = await startWorkerHost({
          redisUrl: TEST_REDIS_URL,
          queue: 'default',
          namespace,
          concurrency,
          handlersModule: BROWSER_HANDLERS,
          logger: pino({ level: LOG_LEVEL }),
        });
        return host;
      },
      async stopHost() {
        const running = host;
        host = undefined;
        await running?.close({ graceMs: 1_000 });
      },
      output: () => output,
      close,
    };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}
