/**
 * Starting a consumer script as a child process of the driver (with the driver's own Node
 * options, so TypeScript loads through tsx), waiting for its `ready`, and stopping it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConsumerKind } from './consumers.js';

/** A running consumer. */
export interface LaunchedConsumer {
  child: ChildProcess;
  pid: number;
  /** hrtime (ns) just before the fork. */
  launchedAt: bigint;
  /** Resolves when the consumer says it takes work. */
  ready: Promise<void>;
  /** The probe directory of this run. */
  probeDir: string;
  /** Stops the consumer (SIGKILL after 10 s) and removes its probe directory. */
  stop(): Promise<void>;
}

/** Forks `kind` against `redisUrl`, serving `queue`. */
export function launchConsumer(
  kind: ConsumerKind,
  redisUrl: string,
  queue: string,
  options: { everyStart?: boolean } = {},
): LaunchedConsumer {
  const probeDir = mkdtempSync(join(tmpdir(), 'forklift-compare-'));
  const launchedAt = process.hrtime.bigint();
  const child = fork(kind.script, [], {
    execArgv: process.execArgv,
    env: {
      ...process.env,
      BENCH_REDIS_URL: redisUrl,
      BENCH_QUEUE: queue,
      BENCH_MODE: kind.mode,
      BENCH_PROBE_DIR: probeDir,
      BENCH_PROBE_EVERY: options.everyStart ? '1' : '0',
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    void exited.then(([code]) =>
      reject(new Error(`${kind.name} exited (code ${code}) before it was ready`)),
    );
  });
  ready.catch(() => {});
  return {
    child,
    pid: child.pid as number,
    launchedAt,
    ready,
    probeDir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        if (child.connected) child.send('stop');
        else child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(probeDir, { recursive: true, force: true });
    },
  };
}

/** The earliest first-task start any process of the consumer noted (hrtime ns), if any. */
export function firstStart(probeDir: string): bigint | undefined {
  let first: bigint | undefined;
  for (const name of readdirSync(probeDir)) {
    if (!name.startsWith('first-')) continue;
    const at = BigInt(readFileSync(join(probeDir, name), 'utf8'));
    if (first === undefined || at < first) first = at;
  }
  return first;
}

/** Every start noted with `everyStart` (hrtime ns), in time order. */
export function allStarts(probeDir: string): bigint[] {
  const starts: bigint[] = [];
  for (const name of readdirSync(probeDir)) {
    if (!name.startsWith('starts-')) continue;
    for (const line of readFileSync(join(probeDir, name), 'utf8').split('\n')) {
      if (line) starts.push(BigInt(line));
    }
  }
  return starts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
