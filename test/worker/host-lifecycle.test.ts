/**
 * What a host says when something goes wrong around its runs: start-up failures name what is at
 * fault (a handlers module that is missing or does not load, Redis unreachable, without its
 * password) and leave no host registered; a child that dies idle is not reported as dying in a
 * task; an error thrown outside a run (from a handler's timer) fails the run with its own
 * message; renewals of short leases report no lost lease when nothing was lost; a kill -9 of a
 * host leaves nothing behind in /dev/shm.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FIXTURE_HANDLERS } from '../fixtures/handlers.js';
import { waitFor } from '../support/redis.js';
import { forklift, isAlive, poolChildPids, ROOT, spawnWorker, workerSuite } from './harness.js';

const suite = workerSuite('host-lifecycle');

/** A logger whose lines land in `lines`. */
function captured(lines: { msg: string; level: number }[]) {
  return pino(
    { level: 'debug' },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as { msg: string; level: number });
      },
    },
  );
}

describe('start-up failures name their cause and register nothing', () => {
  it('a handlers module that does not exist, or throws while it loads', async () => {
    const missing = await forklift(['worker', '--handlers', '/no/such/file.ts'], suite.cliEnv());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/the handlers module \/no\/such\/file\.ts does not exist/);
    expect(missing.stderr).not.toMatch(/Redis/);

    const broken = join(ROOT, 'test/fixtures/broken-handlers.ts');
    const failing = await forklift(['worker', '--handlers', broken], suite.cliEnv());
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/did not load in a child process/);
    expect(failing.stderr).toMatch(/broken on purpose/);
    expect(await suite.redis.zcard(suite.keys.hosts)).toBe(0);
  });

  it('an unreachable Redis, named without its password', async () => {
    const run = await forklift(
      ['worker', '--concurrency', '1'],
      suite.cliEnv({ REDIS_URL: 'redis://default:s3cret-pw@127.0.0.1:1' }),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /Redis at redis:\/\/default:\*\*\*@127\.0\.0\.1:1\/? did not answer/,
    );
    expect(run.stdout + run.stderr).not.toContain('s3cret-pw');
  });
});

describe('messages about children', () => {
  it('a child killed while idle is not said to die in a task; the pool is whole again', async () => {
    const lines: { msg: string; level: number }[] = [];
    const host = await suite.startHost({ concurrency: 1, logger: captured(lines) });
    const [pid] = host.pids();
    if (pid === undefined) throw new Error('no child');
    process.kill(pid, 'SIGKILL');
    await waitFor(() => host.pids().length === 1 && host.pids()[0] !== pid, {
      what: 'a new child',
    });
    const messages = lines.map((l) => l.msg);
    expect(messages).toContain('child process died while it ran no task');
    expect(messages.some((m) => /while running/.test(m))).toBe(false);
    const [id] = await suite.enqueueIds([{ type: 'sleep', payload: { ms: 1 } }]);
    if (!id) throw new Error('no id');
    await suite.waitForState(id, 'succeeded');
  });

  it('an error thrown from a timer fails the run with its own message', async () => {
    const lines: { msg: string; level: number }[] = [];
    await suite.startHost({ concurrency: 1, logger: captured(lines) });
    const [id] = await suite.enqueueIds([
      { type: 'throw-later', payload: { message: 'late boom from a timer' }, maxAttempts: 1 },
    ]);
    if (!id) throw new Error('no id');
    const view = await suite.waitForState(id, 'dead');
    expect(view.error).toBe('late boom from a timer');
    expect(lines.some((l) => l.msg === 'uncaught error in a child process; it exits')).toBe(true);
  });

  it('short leases renewed while runs come and go: no lease is reported lost', async () => {
    const lines: { msg: string; level: number }[] = [];
    await suite.startHost({ concurrency: 2, prefetch: 4, leaseMs: 600, logger: captured(lines) });
    const ids = await suite.enqueueIds(
      Array.from({ length: 150 }, () => ({ type: 'sleep', payload: { ms: 5 } })),
    );
    await suite.waitForAll(ids, 'succeeded');
    expect(lines.filter((l) => /lost/.test(l.msg))).toEqual([]);
  });
});

describe('kill -9 of a host', () => {
  it('leaves nothing behind in /dev/shm', async () => {
    const shm = () => {
      try {
        return readdirSync('/dev/shm').filter((name) => name.startsWith('forklift'));
      } catch {
        return [];
      }
    };
    const before = shm();
    const ids = await suite.enqueueIds(
      Array.from({ length: 40 }, () => ({ type: 'sleep', payload: { ms: 20 } })),
    );
    const worker = suite.track(
      spawnWorker(
        ['--concurrency', '2', '--prefetch', '2', '--handlers', FIXTURE_HANDLERS],
        suite.cliEnv(),
      ),
    );
    const hostId = await waitFor(
      async () => (await suite.redis.zrange(suite.keys.hosts, 0, '-1'))[0],
      {
        what: `the host to register; output: ${worker.output()}`,
      },
    );
    await suite.waitForState(ids[0] ?? '', 'succeeded');
    const { pid } = JSON.parse(
      (await suite.redis.hget(suite.keys.host(hostId), 'description')) ?? '{}',
    ) as {
      pid: number;
    };
    const children = poolChildPids(pid);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid) && children.every((child) => !isAlive(child)), {
      what: 'the host and its children to be gone',
    });
    expect(shm()).toEqual(before);
  });
});
