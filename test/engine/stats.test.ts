import { describe, expect, it } from 'vitest';
import { cancelScript, statsScript } from '../../shared/scripts/index.js';
import { engineSuite } from './harness.js';

const suite = engineSuite('stats');

describe('stats script', () => {
  it('answers zeros for an empty queue', async () => {
    const q = suite.queue();
    expect(await q.runArray(statsScript)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(statsScript.readOnly).toBe(true);
  });

  it('counts lanes, sets, running totals and live hosts in the documented order', async () => {
    const q = suite.queue();
    await q.registerHost('h1', ['a', 'b']);
    await q.registerHost('h2', ['c']);
    await q.registerHost('expired', ['z'], 1);
    await q.enqueue(
      { id: 'h', priority: 'high' },
      { id: 'n1' },
      { id: 'n2' },
      { id: 'n3' },
      { id: 'l', priority: 'low' },
      { id: 'd', delayMs: 60_000 },
      { id: 'x', priority: 'low' },
    );
    await q.runArray(cancelScript, 'x');
    await q.claim('h1', ['a', 'b'], { order: 'n' });
    await q.redis.hset(q.keys.stats, 'succeeded', 4, 'failed', 3, 'dead', 2);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // high, normal, low, delayed, active, succeeded, failed, dead, canceled, enqueued, hosts
    expect(await q.runArray(statsScript)).toEqual([1, 1, 1, 1, 2, 4, 3, 2, 1, 7, 2]);
    expect(await q.client.stats()).toEqual({
      queue: q.name,
      lanes: { high: 1, normal: 1, low: 1 },
      delayed: 1,
      active: 2,
      succeeded: 4,
      failed: 3,
      dead: 2,
      canceled: 1,
    });
  });

  it('reads a counter that is not a number as 0', async () => {
    const q = suite.queue();
    await q.redis.hset(q.keys.stats, 'succeeded', 'lots');
    expect((await q.runArray(statsScript))[5]).toBe(0);
  });
});
