/**
 * The `forklift` CLI as a process on the test namespace: bad worker flags and bad enqueue
 * requests exit non-zero naming the problem and write nothing; `enqueue`, `status --json` and
 * `stats --json` print what they promise, before and after a host runs the task.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareBatch } from '../../shared/enqueue-request.js';
import { QueueClient } from '../../shared/queue-client.js';
import { tasks } from '../../shared/tasks/index.js';
import { BUILTIN_HANDLERS } from '../../worker-host/host.js';
import { ioredisTransport } from '../../worker-host/redis/ioredis-transport.js';
import { startThrowawayRedis } from '../support/gateway.js';
import { forklift, workerSuite } from './harness.js';

const suite = workerSuite('cli');

const scratch = mkdtempSync(join(tmpdir(), 'forklift-cli-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Writes JSON lines to a fresh file in the scratch directory; returns its path. */
let files = 0;
function jsonLines(lines: readonly unknown[]): string {
  files += 1;
  const file = join(scratch, `tasks-${files}.jsonl`);
  writeFileSync(file, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
  return file;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('forklift CLI', () => {
  it('rejects bad worker flags and bad tasks, naming the problem, writing nothing', async () => {
    const env = suite.cliEnv();
    const cases: [string[], RegExp][] = [
      [['worker', '--concurrency', '0'], /--concurrency must be between 1 and 1024, got 0/],
      [['worker', '--weights', '1,2'], /--weights must be three whole numbers H,N,L .*"1,2"/],
      [['worker', '--bogus'], /worker: Unknown option '--bogus'/],
      [['enqueue', 'nope', '{}'], /type: Unknown task type 'nope' \(known: square\)/],
      [['enqueue', 'square', '{"x":"seven"}'], /nothing was enqueued:\n\s+payload\.x: /],
    ];
    const runs = await Promise.all(cases.map(([args]) => forklift(args, env)));
    for (const [i, run] of runs.entries()) {
      const [args, message] = cases[i] ?? [[], /./];
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(/^forklift: /);
      expect(run.stderr, args.join(' ')).toMatch(message);
      expect(run.stdout, args.join(' ')).toBe('');
    }
    expect(await suite.allKeys()).toEqual([]);
  });

  it('enqueue, status --json and stats --json, before and after a host runs the task', async () => {
    const env = suite.cliEnv();
    const enqueued = await forklift(['enqueue', 'square', '{"x":7}', '--priority', 'high'], env);
    expect(enqueued.code, enqueued.stderr).toBe(0);
    const id = enqueued.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const [queuedStatus, queuedStats] = await Promise.all([
      forklift(['status', id, '--json'], env),
      forklift(['stats', '--json'], env),
    ]);
    expect(queuedStatus.code, queuedStatus.stderr).toBe(0);
    const queued = JSON.parse(queuedStatus.stdout) as Record<string, unknown>;
    expect(queued).toMatchObject({
      id,
      type: 'square',
      payload: { x: 7 },
      priority: 'high',
      state: 'queued',
      attempts: 0,
      maxAttempts: 3,
      result: null,
      error: null,
      startedAt: null,
      finishedAt: null,
    });
    expect(queued.createdAt).toMatch(ISO);
    expect(queuedStats.code, queuedStats.stderr).toBe(0);
    expect(JSON.parse(queuedStats.stdout)).toEqual({
      queue: 'default',
      lanes: { high: 1, normal: 0, low: 0 },
      delayed: 0,
      active: 0,
      succeeded: 0,
      failed: 0,
      dead: 0,
      canceled: 0,
    });

    await suite.startHost({ concurrency: 1, handlersModule: BUILTIN_HANDLERS });
    await suite.waitForState(id, 'succeeded');

    const [doneStatus, doneStats] = await Promise.all([
      forklift(['status', id, '--json'], env),
      forklift(['stats', '--json'], env),
    ]);
    expect(doneStatus.code, doneStatus.stderr).toBe(0);
    const done = JSON.parse(doneStatus.stdout) as Record<string, unknown>;
    expect(done).toMatchObject({
      id,
      type: 'square',
      payload: { x: 7 },
      priority: 'high',
      state: 'succeeded',
      attempts: 1,
      maxAttempts: 3,
      result: 49,
      error: null,
      createdAt: queued.createdAt,
    });
    for (const field of ['createdAt', 'startedAt', 'finishedAt']) {
      expect(done[field], field).toMatch(ISO);
    }
    expect(Date.parse(String(done.finishedAt))).toBeGreaterThanOrEqual(
      Date.parse(String(done.startedAt)),
    );
    expect(JSON.parse(doneStats.stdout)).toEqual({
      queue: 'default',
      lanes: { high: 0, normal: 0, low: 0 },
      delayed: 0,
      active: 0,
      succeeded: 1,
      failed: 0,
      dead: 0,
      canceled: 0,
    });

    const missing = await forklift(['status', 'no-such-task', '--json'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('forklift: no task no-such-task in queue default');
  });
});

describe('forklift enqueue --file', () => {
  it('refuses idempotency keys that are not well-formed Unicode, naming each line', async () => {
    // '\ud800' and '\udfff' both reach Redis as U+FFFD: the second task would be answered as a
    // duplicate of the first and never enqueued.
    const file = jsonLines([
      { type: 'square', payload: { x: 1 }, idempotencyKey: '\ud800' },
      { type: 'square', payload: { x: 2 }, idempotencyKey: '\udfff' },
      { type: 'square', payload: { x: 3 }, idempotencyKey: 'fine-\ud83d\ude00' },
    ]);
    const run = await forklift(['enqueue', '--file', file], suite.cliEnv());
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('nothing was enqueued');
    expect(run.stderr).toContain(
      'line 1: idempotencyKey: Must be well-formed Unicode: unpaired surrogate \\ud800 at index 0',
    );
    expect(run.stderr).toContain('line 2: idempotencyKey: Must be well-formed Unicode');
    expect(run.stderr).not.toContain('line 3');
    expect(await suite.allKeys()).toEqual([]);
  });

  it('prints the ids of each call as it is written, and says where a failure starts', async () => {
    // A Redis of its own, whose memory limit lets the first call of 1,000 tasks in and refuses
    // the second (OOM): the shared test Redis is never given a limit.
    const server = await startThrowawayRedis();
    const direct = new Redis(server.url, { maxRetriesPerRequest: 1 });
    try {
      const memory = async () => {
        const info = await direct.info('memory');
        const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1]);
        return { used: field('used_memory'), peak: field('used_memory_peak') };
      };
      // Redis refuses a script's first write when the memory in use as the call starts (its
      // arguments parsed) is over the limit. Measure, on another queue of the same Redis, what a
      // call of 1,000 tasks keeps (`kept`) and what it holds at its peak (its arguments too).
      const calibration = new QueueClient(ioredisTransport(direct), { queue: 'calibration' });
      let kept = 0;
      let peak = 0;
      for (let round = 0; round < 3; round++) {
        const specs = prepareBatch(
          tasks,
          Array.from({ length: 1000 }, (_, x) => ({ type: 'square', payload: { x } })),
        );
        if (!specs.ok) throw new Error('invalid calibration tasks');
        const before = await memory();
        await calibration.enqueue(specs.specs);
        const after = await memory();
        kept = after.used - before.used;
        peak = after.peak - before.used; // the largest call so far: Redis records its peak
      }
      const args = peak - kept;
      expect(kept).toBeGreaterThan(200_000);
      // The CLI's first call starts below the limit, its second above it. Measured: the test
      // passes with the limit anywhere from -0.1 to 0.85 calls above the first call's start.
      const connection = 50_000;
      const limit = (await memory()).used + connection + args + Math.round(kept * 0.4);
      await direct.config('SET', 'maxmemory', String(limit));

      const lines = Array.from({ length: 2500 }, (_, x) => ({ type: 'square', payload: { x } }));
      const file = jsonLines(lines);
      const run = await forklift(
        ['enqueue', '--file', file],
        suite.cliEnv({ REDIS_URL: server.url, FORKLIFT_NAMESPACE: 'oom' }),
      );
      await direct.config('SET', 'maxmemory', '0');

      expect(run.code, run.stderr).toBe(1);
      const ids = run.stdout.trim().split('\n');
      expect(ids, run.stderr).toHaveLength(1000);
      expect(new Set(ids).size).toBe(1000);
      expect(run.stderr).toMatch(
        /^forklift: enqueue --file .*tasks-\d+\.jsonl: the call with lines 1001-2000 failed: OOM command not allowed/,
      );
      expect(run.stderr).toContain(
        'lines 1-1000 were enqueued (1000 tasks; their ids are printed above); nothing from line 1001 on was enqueued',
      );
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
      // What was printed is exactly what was written.
      const written = await direct.keys('oom:{default}:task:*');
      expect(written.map((key) => key.slice('oom:{default}:task:'.length)).sort()).toEqual(
        [...ids].sort(),
      );
      const payloads = await Promise.all(
        [ids[0], ids[999]].map((id) => direct.hget(`oom:{default}:task:${id}`, 'payload')),
      );
      expect(payloads).toEqual(['{"x":0}', '{"x":999}']);
    } finally {
      direct.disconnect();
      await server.kill();
    }
  });
});
