/**
 * A private Redis Cluster for the cluster tests: `masters` redis-server processes (and
 * `replicasPerMaster` replicas of each) with `--cluster-enabled yes`, on free ports of
 * 127.0.0.1, no persistence, their cluster config files in a fresh temporary directory, joined
 * with `redis-cli --cluster create ... --cluster-yes`. `startCluster` resolves once every node
 * says `cluster_state:ok`.
 *
 * Every server is SIGKILLed by `stop()` (call it in `afterAll`), and also when the test
 * process ends in any way, SIGKILL included: each runs under a small `sh` guard that holds a
 * pipe from the test process and SIGKILLs its server when the pipe closes (redis-server itself
 * does not watch its parent). A process 'exit' hook closes the pipes and removes the
 * directories. So a failed, interrupted or killed test leaves no redis-server behind. Each
 * node's bus port is chosen free as well (`--cluster-port`), rather than the default
 * port + 10000.
 *
 * @example
 * const cluster = await startCluster();
 * afterAll(() => cluster.stop());
 * // REDIS_URL=cluster.url  (redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3)
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';

const run = promisify(execFile);

/** Options of {@link startCluster}. */
export interface ClusterSetup {
  /** @default 3 */
  masters?: number;
  /** @default 0 */
  replicasPerMaster?: number;
  /**
   * `cluster-node-timeout`: how long a node may be silent before the others count it as
   * failed. Short for a failover test; long enough by default that a node starved of CPU on a
   * busy machine is not taken for dead (which, without replicas, takes the cluster down).
   * @default 5000
   */
  nodeTimeoutMs?: number;
  /** A password every node requires (`--requirepass`, and `--masterauth` for replicas). */
  password?: string;
}

/** One node of a test cluster. */
export interface ClusterNode {
  port: number;
  /** SIGKILLs this node (and waits until it is gone). */
  kill(): Promise<void>;
}

/** A running test cluster. */
export interface TestCluster {
  /** `redis+cluster://127.0.0.1:<port>,...` naming every node as a seed (without the password). */
  url: string;
  nodes: ClusterNode[];
  /** A plain connection to one node (the caller disconnects it). */
  node(port: number): Redis;
  /** The port of the master serving the slot of `key` now. */
  masterOf(key: string): Promise<number>;
  /** The port of a replica of the master at `port`. */
  replicaOf(port: number): Promise<number>;
  /** The ports of the masters now. */
  masters(): Promise<number[]>;
  /**
   * Moves the slot of `key`, with its keys, to the master at `port` (IMPORTING/MIGRATING,
   * MIGRATE, SETSLOT NODE on every master), as a resharding does.
   */
  moveSlotOf(key: string, port: number): Promise<void>;
  /** SIGKILLs every node and removes the directory; idempotent. */
  stop(): Promise<void>;
}

/** Servers of every cluster still running, and directories not yet removed, for the exit hook. */
const running = new Set<ChildProcess>();
const directories = new Set<string>();
let hooksInstalled = false;

/**
 * Runs redis-server with the arguments after it, and SIGKILLs it once stdin closes (the test
 * process closed the pipe, or died) or the guard is signalled; exits once the server has.
 */
const GUARD = `redis-server "$@" & pid=$!
trap 'kill -9 $pid 2>/dev/null; wait $pid; exit 0' INT TERM HUP
read -r _ || true
kill -9 $pid 2>/dev/null
wait $pid
exit 0`;

/** Kills a node: closes its guard's pipe (the guard SIGKILLs the server and exits). */
function release(child: ChildProcess): void {
  child.stdin?.destroy();
}

function killEverything(): void {
  for (const child of running) release(child);
  running.clear();
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
  directories.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', killEverything);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      killEverything();
      process.kill(process.pid, signal);
    });
  }
}

/** One short-lived connection to 127.0.0.1:`port`, without retries. */
function probe(port: number, password: string | undefined): Redis {
  const redis = new Redis(port, '127.0.0.1', {
    ...(password === undefined ? {} : { password }),
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
  });
  redis.on('error', () => {});
  return redis;
}

async function ask<T>(
  port: number,
  password: string | undefined,
  fn: (redis: Redis) => Promise<T>,
): Promise<T> {
  const redis = probe(port, password);
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`test cluster: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function spawnNode(port: number, busPort: number, dir: string, setup: ClusterSetup) {
  // biome-ignore format: one option per line pair reads better
  const args = [
    '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1',
    '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
    '--cluster-node-timeout', String(setup.nodeTimeoutMs ?? 5_000), '--dir', dir,
    '--save', '', '--appendonly', 'no',
  ];
  if (setup.password !== undefined) {
    args.push('--requirepass', setup.password, '--masterauth', setup.password);
  }
  const child = spawn('sh', ['-c', GUARD, 'redis-guard', ...args], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  running.add(child);
  child.on('exit', () => running.delete(child));
  child.on('error', () => running.delete(child));
  return child;
}

/** Starts a test cluster (see the module comment). */
export async function startCluster(setup: ClusterSetup = {}): Promise<TestCluster> {
  const { masters = 3, replicasPerMaster = 0, password } = setup;
  installHooks();
  const dir = await mkdtemp(join(tmpdir(), 'forklift-cluster-'));
  directories.add(dir);
  const count = masters * (1 + replicasPerMaster);
  const ports = new Set<number>();
  while (ports.size < count * 2) ports.add(await freePort());
  const [...free] = ports;
  const children = new Map<number, ChildProcess>();
  const nodes: ClusterNode[] = free.slice(0, count).map((port, i) => {
    children.set(port, spawnNode(port, free[count + i] ?? 0, dir, setup));
    return {
      port,
      async kill() {
        const child = children.get(port);
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const gone = once(child, 'exit');
        release(child);
        await gone;
      },
    };
  });
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      await Promise.all(nodes.map((node) => node.kill()));
      await rm(dir, { recursive: true, force: true });
      directories.delete(dir);
    })();
    return stopped;
  };
  try {
    for (const { port } of nodes) {
      await waitUntil(`redis-server on port ${port}`, () =>
        ask(port, password, async (r) => (await r.ping()) === 'PONG'),
      );
    }
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map(({ port }) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        String(replicasPerMaster),
        '--cluster-yes',
      ],
      // The password goes in the environment, not on a command line.
      {
        timeout: 30_000,
        env: password === undefined ? process.env : { ...process.env, REDISCLI_AUTH: password },
      },
    );
    for (const { port } of nodes) {
      await waitUntil(`cluster_state:ok on port ${port}`, () =>
        ask(port, password, async (r) =>
          String(await r.cluster('INFO')).includes('cluster_state:ok'),
        ),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }

  /** Asks the first node that answers (any node knows the whole cluster's slot table). */
  const anyNode = async <T>(fn: (redis: Redis) => Promise<T>): Promise<T> => {
    let last: unknown;
    for (const { port } of nodes) {
      try {
        return await ask(port, password, fn);
      } catch (error) {
        last = error;
      }
    }
    throw last;
  };
  const cluster: TestCluster = {
    url: `redis+cluster://${nodes.map(({ port }) => `127.0.0.1:${port}`).join(',')}`,
    nodes,
    node: (port) =>
      new Redis(port, '127.0.0.1', {
        maxRetriesPerRequest: 1,
        ...(password === undefined ? {} : { password }),
      }),
    async replicaOf(port) {
      return ask(port, password, async (r) => {
        const id = String(await r.cluster('MYID'));
        const lines = (await r.cluster('REPLICAS', id)) as string[];
        const address = lines[0]?.split(' ')[1] ?? '';
        const replica = Number(/:(\d+)@/.exec(address)?.[1]);
        if (!replica) throw new Error(`no replica of the master on port ${port}`);
        return replica;
      });
    },
    async masters() {
      return anyNode(async (r) => {
        const ranges = await r.cluster('SLOTS');
        return [...new Set(ranges.map((range) => Number(range[2]?.[1])))];
      });
    },
    async moveSlotOf(key, port) {
      const from = await cluster.masterOf(key);
      if (from === port) return;
      const slot = await anyNode(async (r) => Number(await r.cluster('KEYSLOT', key)));
      const id = (p: number) => ask(p, password, async (r) => String(await r.cluster('MYID')));
      const [fromId, toId] = [await id(from), await id(port)];
      await ask(port, password, (r) => r.cluster('SETSLOT', slot, 'IMPORTING', fromId));
      await ask(from, password, async (r) => {
        await r.cluster('SETSLOT', slot, 'MIGRATING', toId);
        for (;;) {
          const keys = (await r.cluster('GETKEYSINSLOT', slot, 1000)) as string[];
          if (keys.length === 0) break;
          const auth = password === undefined ? [] : ['AUTH', password];
          await r.call('MIGRATE', '127.0.0.1', port, '', 0, 5_000, ...auth, 'KEYS', ...keys);
        }
      });
      for (const master of await cluster.masters()) {
        await ask(master, password, (r) => r.cluster('SETSLOT', slot, 'NODE', toId));
      }
    },
    async masterOf(key) {
      return anyNode(async (r) => {
        const slot = Number(await r.cluster('KEYSLOT', key));
        const ranges = await r.cluster('SLOTS');
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        if (!range) throw new Error(`no master serves slot ${slot}`);
        return Number(range[2]?.[1]);
      });
    },
    stop,
  };
  return cluster;
}
