/**
 * The `forklift` CLI as a process on the test namespace: bad worker flags and bad enqueue
 * requests exit non-zero naming the problem and write nothing; `enqueue`, `status --json` and
 * `stats --json` print what they promise, before and after a host runs the task.
 */
import { describe, expect, it } from 'vitest';
import { BUILTIN_HANDLERS } from '../../worker-host/host.js';
import { forklift, workerSuite } from './harness.js';

const suite = workerSuite('cli');

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
