/**
 * Child recycling: after `maxTasksPerChild` runs a child is replaced (and every task still
 * succeeds), and a child whose resident memory passes `maxChildMemoryMb` is replaced.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/redis.js';
import { isAlive, readRecords, workerSuite } from './harness.js';

const suite = workerSuite('recycle');

describe('child recycling', () => {
  it('maxTasksPerChild 3: a new child every 3 tasks, every task succeeds', async () => {
    const file = suite.logFile();
    const ids = await suite.enqueueIds(
      Array.from({ length: 7 }, (_, i) => ({ type: 'record', payload: { file, tag: `t${i}` } })),
    );
    const host = await suite.startHost({ concurrency: 1, maxTasksPerChild: 3 });
    const views = await suite.waitForAll(ids);
    // Every task succeeded at its first attempt: recycling never costs a task an attempt.
    expect(views.map((v) => `${v.state}/${v.attempts}`)).toEqual(ids.map(() => 'succeeded/1'));
    expect((await suite.queue.stats()).failed).toBe(0);

    const pids = readRecords(file).map((r) => r.pid);
    expect(pids).toHaveLength(7);
    const [a, b, c] = [pids[0], pids[3], pids[6]];
    expect(pids).toEqual([a, a, a, b, b, b, c]);
    expect(new Set([a, b, c]).size).toBe(3);
    await waitFor(() => a !== undefined && b !== undefined && !isAlive(a) && !isAlive(b), {
      what: 'the recycled children to exit',
    });
    expect(host.pids()).toEqual([c]);
  });

  it('maxTasksPerChild 12 with prefetch 4: no child runs more than 12, every task succeeds once', async () => {
    const file = suite.logFile();
    const ids = await suite.enqueueIds(
      Array.from({ length: 96 }, (_, i) => ({ type: 'record', payload: { file, tag: `p${i}` } })),
    );
    // A prefetching child keeps two finish calls out at once: what both may lease counts
    // against its limit before either answers.
    await suite.startHost({ concurrency: 1, prefetch: 4, maxTasksPerChild: 12 });
    const views = await suite.waitForAll(ids);
    expect(views.map((v) => `${v.state}/${v.attempts}`)).toEqual(ids.map(() => 'succeeded/1'));
    const runs = readRecords(file);
    expect(runs.map((r) => r.tag).sort()).toEqual(ids.map((_, i) => `p${i}`).sort());
    const perChild = new Map<number, number>();
    for (const { pid } of runs) perChild.set(pid, (perChild.get(pid) ?? 0) + 1);
    expect(Math.max(...perChild.values())).toBeLessThanOrEqual(12);
    expect(perChild.size).toBeGreaterThanOrEqual(8);
  });

  it('maxChildMemoryMb: a child that grew past the limit is replaced', async () => {
    const host = await suite.startHost({ concurrency: 1, maxChildMemoryMb: 160 });
    const run = async (request: object) => {
      const [id] = await suite.enqueueIds([request]);
      if (!id) throw new Error('no id');
      return suite.waitForState(id, 'succeeded');
    };
    // Small runs keep the child (it stays under the limit) ...
    const first = (await run({ type: 'sleep', payload: { ms: 0 } })).result as number;
    expect((await run({ type: 'sleep', payload: { ms: 0 } })).result).toBe(first);
    // ... a run that leaves it at ~220 MiB gets it replaced.
    expect((await run({ type: 'leak', payload: { mb: 128 } })).result).toBeGreaterThan(160);
    const next = (await run({ type: 'sleep', payload: { ms: 0 } })).result as number;
    expect(next).not.toBe(first);
    await waitFor(() => !isAlive(first), { what: 'the bloated child to exit' });
    expect(host.pids()).toEqual([next]);
  });
});
