import { describe, expect, it } from 'vitest';
import { promoteScript } from '../../shared/scripts/index.js';
import { engineSuite, sleep } from './harness.js';

const suite = engineSuite('promote');

describe('promote script', () => {
  it('moves only due tasks to the tail of their lanes and returns the next run-at', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'queued' }, { id: 'due-n', delayMs: 50 });
    await q.enqueue({ id: 'due-l', priority: 'low', delayMs: 50 });
    await q.enqueue({ id: 'later', delayMs: 60_000 });
    await q.redis.del(q.keys.signal);
    await sleep(80);
    const runAt = Number((await q.record('later')).runAt);
    expect(await q.runArray(promoteScript, 100)).toEqual([2, runAt]);
    expect(await q.lane('normal')).toEqual(['queued', 'due-n']);
    expect(await q.lane('low')).toEqual(['due-l']);
    expect(await q.zset(q.keys.delayed)).toEqual({ later: runAt });
    const record = await q.record('due-n');
    expect(record.state).toBe('queued');
    expect(record.runAt).toBeUndefined();
    expect((await q.record('later')).state).toBe('delayed');
    expect(await q.redis.lrange(q.keys.signal, 0, -1)).toEqual(['1']);
  });

  it('promotes a failed task whose backoff has ended', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    await q.enqueue({ id: 't', priority: 'high', backoffMs: 0 });
    const [t] = (await q.claim('h', ['a'])).tasks;
    // No backoff: the retry is due as soon as the run fails.
    const { outcomes } = await q.finish(
      'h',
      [{ token: 'a', id: 't', lease: t?.fields.claims ?? '', kind: 'fail', text: 'boom' }],
      { mode: 'free' },
    );
    expect(outcomes).toEqual(['failed']);
    expect(await q.runArray(promoteScript, 100)).toEqual([1, -1]);
    expect(await q.lane('high')).toEqual(['t']);
    expect(await q.record('t')).toMatchObject({ state: 'queued', error: 'boom', attempts: '1' });
  });

  it('moves at most the given number, earliest first', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'd1', delayMs: 10 });
    await q.enqueue({ id: 'd2', delayMs: 20 });
    await q.enqueue({ id: 'd3', delayMs: 30 });
    await sleep(60);
    const d3 = Number((await q.record('d3')).runAt);
    expect(await q.runArray(promoteScript, 2)).toEqual([2, d3]);
    expect(await q.lane('normal')).toEqual(['d1', 'd2']);
    expect(await q.runArray(promoteScript, 2)).toEqual([1, -1]);
  });

  it('drops stale entries, buries an unknown priority and sets aside a non-hash', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'canceled', delayMs: 10 }, { id: 'odd', delayMs: 10 });
    await q.redis.hset(q.keys.task('canceled'), 'state', 'canceled');
    await q.redis.hset(q.keys.task('odd'), 'priority', 'urgent');
    await q.redis.set(q.keys.task('bad'), 'junk');
    await q.redis.zadd(q.keys.delayed, 1, 'bad', 1, 'missing');
    await q.redis.del(q.keys.signal);
    await sleep(20);
    expect(await q.runArray(promoteScript, 100)).toEqual([0, -1]);
    expect(await q.zset(q.keys.delayed)).toEqual({});
    expect((await q.record('canceled')).state).toBe('canceled');
    expect(await q.record('odd')).toMatchObject({
      state: 'dead',
      error: 'corrupted record: unknown priority urgent',
    });
    expect(await q.redis.get(`${q.keys.prefix}corrupt:bad`)).toBe('junk');
    expect(Object.keys(await q.zset(q.keys.dead)).sort()).toEqual(['bad', 'odd']);
    expect(await q.redis.exists(q.keys.signal)).toBe(0);
  });

  it('answers -1 when nothing is delayed', async () => {
    const q = suite.queue();
    expect(await q.runArray(promoteScript, 100)).toEqual([0, -1]);
  });
});
