/**
 * Prefetch: with `--prefetch N` each child holds up to 1 + N leased tasks in line and settles
 * them itself in batches. Every task still runs exactly once and a child runs one at a time; a
 * child that dies fails the run it was in and gives back, attempt refunded, the tasks it held
 * in line; so does a child past its memory limit, and a graceful shutdown.
 */
import { describe, expect, it } from 'vitest';
import { readRecords, sleep, workerSuite } from './harness.js';

const suite = workerSuite('prefetch');

describe('prefetch', () => {
  it('concurrency 2, prefetch 4: each task runs once, at most 10 leased, one run per child at a time', async () => {
    const file = suite.logFile();
    const ids = await suite.enqueueIds(
      Array.from({ length: 300 }, (_, i) => ({
        type: 'record',
        payload: { file, tag: `t${i}`, sleepMs: i % 10 === 0 ? 5 : 0 },
      })),
    );
    await suite.startHost({ concurrency: 2, prefetch: 4 });
    const active: number[] = [];
    let done = false;
    const sampler = (async () => {
      while (!done) {
        active.push(await suite.redis.zcard(suite.keys.active));
        await sleep(5);
      }
    })();
    let views: Awaited<ReturnType<typeof suite.waitForAll>>;
    try {
      views = await suite.waitForAll(ids);
    } finally {
      done = true;
      await sampler;
    }
    expect(views.map((v) => `${v.state}/${v.attempts}`)).toEqual(ids.map(() => 'succeeded/1'));
    expect((await suite.queue.stats()).succeeded).toBe(300);
    // Lines were really held (more than one task per child) but never beyond 2 × (1 + 4).
    expect(Math.max(...active)).toBeGreaterThan(2);
    expect(Math.max(...active)).toBeLessThanOrEqual(10);

    const records = readRecords(file);
    expect(records.map((r) => r.id).sort()).toEqual([...ids].sort());
    const byPid = new Map<number, typeof records>();
    for (const r of records) byPid.set(r.pid, [...(byPid.get(r.pid) ?? []), r]);
    // (A child that starts late under load may find no work left: one or two pids.)
    expect(byPid.size).toBeLessThanOrEqual(2);
    for (const runs of byPid.values()) {
      runs.sort((a, b) => a.start - b.start);
      for (let i = 1; i < runs.length; i++)
        expect(runs[i]?.start).toBeGreaterThanOrEqual(runs[i - 1]?.end ?? 0);
    }
  });

  it('a child that dies fails its run and gives back, attempt refunded, the tasks in its line', async () => {
    const file = suite.logFile();
    const [first, dies, ...rest] = await suite.enqueueIds([
      { type: 'record', payload: { file, tag: 'first' } },
      { type: 'exit', payload: { code: 3 }, maxAttempts: 1 },
      ...['a', 'b', 'c'].map((tag) => ({ type: 'record', payload: { file, tag } })),
    ]);
    if (!first || !dies) throw new Error('no ids');
    // One child holding all five in line.
    await suite.startHost({ concurrency: 1, prefetch: 4 });
    const dead = await suite.waitForState(dies, 'dead');
    expect(dead.attempts).toBe(1);
    expect(dead.error).toBe('ChildExitError: child process exited (code 3) while running the task');
    const views = await suite.waitForAll([first, ...rest]);
    // The tasks that waited in the dead child's line ran later, on their first attempt.
    expect(views.map((v) => `${v.state}/${v.attempts}`)).toEqual([
      'succeeded/1',
      'succeeded/1',
      'succeeded/1',
      'succeeded/1',
    ]);
    const records = readRecords(file);
    expect(records.map((r) => r.tag)).toEqual(['first', 'a', 'b', 'c']);
    expect(new Set(records.map((r) => r.pid)).size).toBe(2);
  });

  it('a child past its memory limit runs nothing more: its line goes to a fresh child', async () => {
    const [before, leak, ...after] = await suite.enqueueIds([
      { type: 'sleep', payload: { ms: 0 }, priority: 'high' },
      { type: 'leak', payload: { mb: 128 }, priority: 'high' },
      ...[1, 2, 3].map(() => ({ type: 'sleep', payload: { ms: 0 } })),
    ]);
    if (!before || !leak) throw new Error('no ids');
    await suite.startHost({ concurrency: 1, prefetch: 3, maxChildMemoryMb: 160 });
    const [first, bloated, ...rest] = await suite.waitForAll([before, leak, ...after]);
    expect(bloated?.result).toBeGreaterThan(160);
    // The three leased behind the leak were handed back and ran, first time, on a new child.
    expect(rest.map((v) => `${v.state}/${v.attempts}`)).toEqual([
      'succeeded/1',
      'succeeded/1',
      'succeeded/1',
    ]);
    for (const view of rest) expect(view.result).not.toBe(first?.result);
  });

  it('a graceful shutdown gives back the tasks still in line, attempt refunded', async () => {
    const file = suite.logFile();
    const ids = await suite.enqueueIds(
      Array.from({ length: 5 }, (_, i) => ({
        type: 'record',
        payload: { file, tag: `t${i}`, sleepMs: 300 },
      })),
    );
    const host = await suite.startHost({ concurrency: 1, prefetch: 4 });
    await suite.waitForState(ids[0] ?? '', 'active');
    await sleep(100);
    await host.close({ graceMs: 0 });
    const views = await Promise.all(ids.map((id) => suite.queue.getTask(id)));
    // The run in progress (which ignores its abort signal) finished in the second the host
    // gives it; the four waiting in line were handed back at once, unstarted and uncharged.
    expect(views.map((v) => `${v?.state}/${v?.attempts}`)).toEqual([
      'succeeded/1',
      'queued/0',
      'queued/0',
      'queued/0',
      'queued/0',
    ]);
    expect(readRecords(file).map((r) => r.tag)).toEqual(['t0']);
    expect(await suite.redis.zcard(suite.keys.active)).toBe(0);
    expect(await suite.redis.lrange(suite.keys.laneNormal, 0, -1)).toEqual(ids.slice(1));
  });
});
