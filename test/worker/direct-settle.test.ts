/**
 * Direct settling: each child stores its successful runs and leases its next task on a Redis
 * connection of its own, and reports to the host lazily; the host learns what a quiet child
 * runs from its scoreboard. These tests make a child lease a task itself (a quick high task
 * first, the interesting one next, with concurrency 1) and then hang, die or block in it.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/redis.js';
import { readRecords, workerSuite } from './harness.js';

const suite = workerSuite('direct-settle');

/** A quick task the host hands over, so the child leases the next one itself. */
const QUICK = { type: 'spin', payload: { ms: 0 }, priority: 'high' } as const;

describe('direct settling', () => {
  it('children store their runs on their own connections, one task at a time each', async () => {
    const host = await suite.startHost({ concurrency: 2 });
    const childConnections = async () => {
      const clients = (await suite.redis.client('LIST')) as string;
      const names = [...clients.matchAll(/ name=(\S+)/g)].map((m) => m[1]);
      return names.filter((n) => n === `forklift:${host.hostId}:child`).length;
    };
    await waitFor(async () => (await childConnections()) === 2, {
      what: 'a Redis connection per child',
    });

    const file = suite.logFile();
    const ids = await suite.enqueueIds(
      Array.from({ length: 40 }, (_, i) => ({ type: 'record', payload: { file, tag: `t${i}` } })),
    );
    const views = await suite.waitForAll(ids);
    expect(views.map((v) => `${v.state}/${v.attempts}`)).toEqual(ids.map(() => 'succeeded/1'));
    // Each child ran its tasks one after another: no two runs of one pid overlap.
    const byPid = new Map<number, { start: number; end: number }[]>();
    for (const r of readRecords(file)) byPid.set(r.pid, [...(byPid.get(r.pid) ?? []), r]);
    for (const runs of byPid.values()) {
      runs.sort((a, b) => a.start - b.start);
      for (let i = 1; i < runs.length; i++)
        expect(runs[i]?.start).toBeGreaterThanOrEqual(runs[i - 1]?.end ?? 0);
    }
  });

  it('a task a child leased itself and hangs in (synchronously) meets its own timeout', async () => {
    await suite.startHost({ concurrency: 1 });
    const [quick, hang] = await suite.enqueueIds([
      QUICK,
      { type: 'hang', payload: { busy: true }, timeoutMs: 400, maxAttempts: 1 },
    ]);
    if (!quick || !hang) throw new Error('no ids');
    const view = await suite.waitForState(hang, 'dead');
    expect(view.attempts).toBe(1);
    expect(view.error).toBe('TimeoutError: timed out after 400 ms (the child process was killed)');
    // The quick task was stored before the hang and stays stored.
    expect((await suite.queue.getTask(quick))?.state).toBe('succeeded');
  });

  it('a child that dies in a task it leased itself fails that task', async () => {
    await suite.startHost({ concurrency: 1 });
    const [quick, exits] = await suite.enqueueIds([
      QUICK,
      { type: 'spin', payload: { ms: 0, exitCode: 3 }, maxAttempts: 1 },
    ]);
    if (!quick || !exits) throw new Error('no ids');
    const view = await suite.waitForState(exits, 'dead');
    expect(view.attempts).toBe(1);
    expect(view.error).toBe('ChildExitError: child process exited (code 3) while running the task');
    expect((await suite.queue.getTask(quick))?.state).toBe('succeeded');
  });

  it('a long synchronous run a child leased itself keeps its lease', async () => {
    // Lease 600 ms, renewed every 200 ms; reaping every 200 ms would take an unrenewed lease.
    await suite.startHost({ concurrency: 1, leaseMs: 600, tickMs: 200 });
    const [, long] = await suite.enqueueIds([QUICK, { type: 'spin', payload: { ms: 2_000 } }]);
    if (!long) throw new Error('no id');
    const view = await suite.waitForState(long, 'succeeded');
    expect(view.attempts).toBe(1);
    const record = await suite.redis.hgetall(suite.keys.task(long));
    expect({ claims: record.claims, stalls: record.stalls ?? '0' }).toEqual({
      claims: '1',
      stalls: '0',
    });
  });
});
