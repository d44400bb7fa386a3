import { describe, expect, it } from 'vitest';
import { reapScript } from '../../shared/scripts/index.js';
import { engineSuite, sleep } from './harness.js';

const suite = engineSuite('reap');

describe('reap script', () => {
  it('puts an expired task back at the head of its lane and counts a stall', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b']);
    await q.enqueue({ id: 't', priority: 'high' }, { id: 'next', priority: 'high' });
    await q.claim('h', ['a'], { leaseMs: 1 });
    await sleep(5);
    expect(await q.runArray(reapScript, 100)).toEqual([1, 0]);
    expect(await q.lane('high')).toEqual(['t', 'next']);
    const record = await q.record('t');
    expect(record).toMatchObject({ state: 'queued', stalls: '1', attempts: '1', claims: '1' });
    // The host that last leased it stays on the record, for tracing.
    expect(record.host).toBe('h');
    expect(record.startedAt).toBeUndefined();
    expect(await q.zset(q.keys.active)).toEqual({});
    expect(await q.redis.lrange(q.keys.signal, 0, -1)).toEqual(['1']);
    // Tokens are the host's business: reap leaves the list alone.
    expect(await q.tokens('h')).toEqual(['b']);
    // The redelivery runs with its attempt count showing it.
    const { tasks } = await q.claim('h', ['b']);
    expect(tasks.map((t) => t.id)).toEqual(['t']);
    expect(tasks[0]?.fields).toMatchObject({ attempts: '2', claims: '2' });
    expect((await q.record('t')).stalls).toBe('1');
  });

  it('keeps the claim order of several expired tasks at the head of the lane', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'b1' }, { id: 'a2' }, { id: 'waiting' });
    await q.claim('h', ['x'], { leaseMs: 1 });
    await sleep(3);
    await q.claim('h', ['y'], { leaseMs: 1 });
    await sleep(5);
    expect(await q.runArray(reapScript, 100)).toEqual([2, 0]);
    expect(await q.lane('normal')).toEqual(['b1', 'a2', 'waiting']);
  });

  it('sends an expired task with no attempts left to dead with a clear error', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't', maxAttempts: 1, deadTtlMs: 90_000 });
    await q.claim('h', ['a'], { leaseMs: 1 });
    await sleep(5);
    expect(await q.runArray(reapScript, 100)).toEqual([0, 1]);
    const record = await q.record('t');
    expect(record).toMatchObject({
      state: 'dead',
      stalls: '1',
      error:
        'lease expired 1 time(s): the worker host stopped renewing it (crashed, killed or stalled)',
    });
    // The host that last leased it stays on the record, for tracing.
    expect(record.host).toBe('h');
    expect(Object.keys(await q.zset(q.keys.dead))).toEqual(['t']);
    const ttl = await q.redis.pttl(q.keys.task('t'));
    expect(ttl).toBeGreaterThan(85_000);
    expect(ttl).toBeLessThanOrEqual(90_000);
    expect(await q.lane('normal')).toEqual([]);
    expect((await q.stats()).dead).toBe('1');
  });

  it('sends a task with an unknown priority to dead', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't' });
    await q.claim('h', ['a'], { leaseMs: 1 });
    await q.redis.hset(q.keys.task('t'), 'priority', 'urgent');
    await sleep(5);
    expect(await q.runArray(reapScript, 100)).toEqual([0, 1]);
    expect((await q.record('t')).error).toBe('corrupted record: unknown priority urgent');
  });

  it('leaves leases that have not expired alone', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'live' }, { id: 'gone' });
    await q.claim('h', ['a'], { leaseMs: 60_000 });
    await q.claim('h', ['b'], { leaseMs: 1 });
    const live = await q.record('live');
    await sleep(5);
    expect(await q.runArray(reapScript, 100)).toEqual([1, 0]);
    expect(await q.record('live')).toEqual(live);
    expect(Object.keys(await q.zset(q.keys.active))).toEqual(['live']);
  });

  it('recovers at most the given number of tasks per call', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't1' }, { id: 't2' }, { id: 't3' });
    await q.claim('h', ['a', 'b', 'c'], { leaseMs: 1 });
    await sleep(5);
    expect(await q.runArray(reapScript, 2)).toEqual([2, 0]);
    expect(Object.keys(await q.zset(q.keys.active))).toHaveLength(1);
    expect(await q.runArray(reapScript, 2)).toEqual([1, 0]);
  });

  it('drops stale entries and sets aside a key that is not a hash', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'done' });
    await q.redis.hset(q.keys.task('done'), 'state', 'succeeded');
    await q.redis.set(q.keys.task('bad'), 'junk');
    await q.redis.zadd(q.keys.active, 1, 'done', 2, 'bad', 3, 'missing');
    await q.redis.del(q.keys.laneNormal);
    expect(await q.runArray(reapScript, 100)).toEqual([0, 1]);
    expect(await q.zset(q.keys.active)).toEqual({});
    expect((await q.record('done')).state).toBe('succeeded');
    expect(await q.redis.get(`${q.keys.prefix}corrupt:bad`)).toBe('junk');
    expect((await q.record('bad')).state).toBe('dead');
    expect(await q.lane('normal')).toEqual([]);
  });
});
