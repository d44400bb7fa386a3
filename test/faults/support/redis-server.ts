/**
 * A private redis-server for the fault tests, which freeze it (SIGSTOP), kill it and restart it:
 * never do that to the shared test Redis. Each server listens on 127.0.0.1 on a free port and
 * never snapshots (`--save ""`). With `appendonly`, every write is fsynced to an append-only
 * file in a fresh temporary directory before Redis replies, so a restart keeps all acknowledged
 * data; the directory is removed by `kill()`.
 *
 * Servers still running when the test process exits are SIGKILLed then, so a failed test that
 * skips its `afterAll` does not leak them.
 *
 * @example
 * const redis = await startFaultRedis({ appendonly: true });
 * afterAll(() => redis.kill());
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../support/ports.js';

/** Options of {@link startFaultRedis}. */
export interface FaultRedisOptions {
  /** Persist every write (`--appendonly yes --appendfsync always`). @default false */
  appendonly?: boolean;
}

/** A private redis-server child process. */
export interface FaultRedis {
  /** e.g. `redis://127.0.0.1:43121`. */
  url: string;
  /** The port it listens on, on 127.0.0.1; the same after a restart. */
  port: number;
  /** The current process id (it changes on {@link FaultRedis.restart}). */
  readonly pid: number;
  /** The data directory with `appendonly`, else undefined. Removed by {@link FaultRedis.kill}. */
  dir: string | undefined;
  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
  stop(): void;
  /** Unfreezes it (SIGCONT); it answers what it received meanwhile. */
  cont(): void;
  /**
   * SIGKILLs the server and starts it again on the same port and directory, and waits until it
   * answers PING. With `appendonly` the data survives; without, it comes back empty.
   */
  restart(): Promise<void>;
  /** SIGKILLs the server, waits for it to exit and removes its directory; idempotent. */
  kill(): Promise<void>;
}

/** How long a server may take to answer PING after it is spawned. */
const START_TIMEOUT_MS = 10_000;

/** Server children still running and data directories not yet removed, for the exit hook. */
const running = new Set<ChildProcess>();
const directories = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
    for (const dir of directories) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // A server killed a moment ago may still be writing into it; nothing more to do.
      }
    }
  });
}

async function removeDirectory(dir: string | undefined): Promise<void> {
  if (!dir) return;
  await rm(dir, { recursive: true, force: true });
  directories.delete(dir);
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGKILLs `child` (even if stopped) and waits until it has exited. */
async function killChild(child: ChildProcess): Promise<void> {
  if (!exited(child)) {
    const gone = once(child, 'exit');
    child.kill('SIGKILL');
    await gone;
  }
  running.delete(child);
}

/** One PING over a short-lived connection; rejects if nothing answers. */
async function ping(port: number): Promise<void> {
  const probe = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } finally {
    probe.disconnect();
  }
}

/** Spawns redis-server and waits until it answers PING; fails early if it exits. */
async function spawnServer(port: number, dir: string | undefined): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', ''];
  if (dir) args.push('--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir);
  else args.push('--appendonly', 'no');
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  // Keep the end of its output for the error message, should it fail to start.
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-2_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | undefined;
  child.on('error', (error) => {
    spawnError = error;
  });
  child.on('exit', () => running.delete(child));

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (spawnError || exited(child)) {
      running.delete(child);
      const why = spawnError?.message ?? `exited (${child.exitCode ?? child.signalCode})`;
      throw new Error(`redis-server did not start on port ${port}: ${why}\n${output}`);
    }
    try {
      await ping(port);
      return child;
    } catch (error) {
      if (Date.now() > deadline) {
        await killChild(child);
        throw new Error(`redis-server on port ${port} did not answer PING: ${error}\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * Starts a private `redis-server` (from the PATH) on a free port of 127.0.0.1, without
 * snapshots, and waits until it answers PING.
 */
export async function startFaultRedis(options: FaultRedisOptions = {}): Promise<FaultRedis> {
  const port = await freePort();
  const dir = options.appendonly
    ? await mkdtemp(join(tmpdir(), 'forklift-fault-redis-'))
    : undefined;
  if (dir) directories.add(dir);
  installExitHook();
  let child: ChildProcess;
  try {
    child = await spawnServer(port, dir);
  } catch (error) {
    await removeDirectory(dir);
    throw error;
  }
  let killed: Promise<void> | undefined;

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid ?? -1;
    },
    dir,
    stop() {
      child.kill('SIGSTOP');
    },
    cont() {
      child.kill('SIGCONT');
    },
    async restart() {
      if (killed) throw new Error('restart() after kill()');
      await killChild(child);
      child = await spawnServer(port, dir);
      // kill() was called meanwhile: it has seen only the old process.
      if (killed) await killChild(child);
    },
    kill() {
      killed ??= (async () => {
        await killChild(child);
        await removeDirectory(dir);
      })();
      return killed;
    },
  };
}
