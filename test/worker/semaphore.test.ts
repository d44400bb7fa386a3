/**
 * The semaphore: a host with concurrency 2 and no prefetch never holds more than 2 tasks, never
 * hands a task to a busy child, and its free tokens in Redis plus its busy tasks never exceed
 * its 2 slots.
 */
import { describe, expect, it } from 'vitest';
import { readRecords, workerSuite } from './harness.js';

const suite = workerSuite('semaphore');

describe('slot semaphore', () => {
  it('concurrency 2, no prefetch: at most 2 active, one task per child at a time', async () => {
    const file = suite.logFile();
    const ids = await suite.enqueueIds(
      Array.from({ length: 8 }, (_, i) => ({
        type: 'record',
        payload: { file, tag: `t${i}`, sleepMs: 250 },
      })),
    );
    const host = await suite.startHost({ concurrency: 2, prefetch: 0 });
    const tokensKey = suite.keys.tokens(host.hostId);

    const samples: { active: number; tokens: number }[] = [];
    let done = false;
    const sampler = (async () => {
      while (!done) {
        // One MULTI, so both are read at the same instant. A free token holds ''.
        const reply = await suite.redis.multi().zcard(suite.keys.active).hvals(tokensKey).exec();
        const tokens = reply?.[1]?.[1] as string[] | undefined;
        samples.push({
          active: Number(reply?.[0]?.[1]),
          tokens: tokens?.filter((held) => held === '').length ?? Number.NaN,
        });
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      await suite.waitForAll(ids, 'succeeded');
    } finally {
      done = true;
      await sampler;
    }

    expect(samples.length).toBeGreaterThan(50);
    expect(Math.max(...samples.map((s) => s.active))).toBe(2);
    for (const s of samples) {
      expect(s.active).toBeLessThanOrEqual(2);
      expect(s.active + s.tokens).toBeLessThanOrEqual(2);
    }

    const records = readRecords(file);
    expect(records).toHaveLength(8);
    // Never more than 2 runs at the same instant (checked at every run's start) ...
    for (const r of records) {
      const running = records.filter((o) => o.start <= r.start && r.start < o.end);
      expect(running.length).toBeLessThanOrEqual(2);
    }
    // ... and a child never runs two at once.
    const pids = new Set(records.map((r) => r.pid));
    expect(pids.size).toBeLessThanOrEqual(2);
    for (const pid of pids) {
      const mine = records.filter((r) => r.pid === pid).sort((a, b) => a.start - b.start);
      for (let i = 1; i < mine.length; i++) {
        expect(mine[i]?.start).toBeGreaterThanOrEqual(mine[i - 1]?.end ?? 0);
      }
    }
  });
});
