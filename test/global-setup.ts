/**
 * Vitest global setup: the tests need a real Redis on 127.0.0.1:6379 (or REDIS_URL). When
 * nothing answers there and `redis-server` is on the PATH, start one without persistence for
 * the run and stop it afterwards, so `npm test` works on a fresh machine with Redis installed
 * but not running.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { redisAnswers } from '../worker-host/redis/probe.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const answers = (): Promise<boolean> => redisAnswers(url);

let server: ChildProcess | undefined;

export async function setup(): Promise<void> {
  if (await answers()) return;
  const binary = spawnSync('sh', ['-c', 'command -v redis-server'], {
    encoding: 'utf8',
  }).stdout.trim();
  if (!binary || process.env.REDIS_URL) {
    throw new Error(
      `The tests need Redis: nothing answers at ${url} and redis-server is not on the PATH`,
    );
  }
  server = spawn(
    binary,
    ['--port', '6379', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    if (await answers()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('started redis-server for the tests, but it does not answer on 127.0.0.1:6379');
}

export async function teardown(): Promise<void> {
  server?.kill('SIGTERM');
}
