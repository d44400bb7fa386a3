import { describe, expect, it } from 'vitest';
import { CorruptRecordError } from '../../shared/errors.js';
import { decodeTaskRecord } from '../../shared/task-record.js';
import { engineSuite, sleep } from './harness.js';

const suite = engineSuite('claim');

describe('claim script', () => {
  it('takes high before normal before low, first in first out within a lane', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b', 'c', 'd', 'e', 'f']);
    await q.enqueue(
      { id: 'l1', priority: 'low' },
      { id: 'n1' },
      { id: 'h1', priority: 'high' },
      { id: 'n2' },
      { id: 'h2', priority: 'high' },
    );
    const { tasks } = await q.claim('h', ['a', 'b', 'c', 'd', 'e', 'f']);
    expect(tasks.map((t) => [t.token, t.id])).toEqual([
      ['a', 'h1'],
      ['b', 'h2'],
      ['c', 'n1'],
      ['d', 'n2'],
      ['e', 'l1'],
    ]);
    // The token left without a task stays on the host's list.
    expect(await q.tokens('h')).toEqual(['f']);
  });

  it('follows the lane order it is given', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'h1', priority: 'high' }, { id: 'n1' }, { id: 'l1', priority: 'low' });
    const { tasks } = await q.claim('h', ['a', 'b', 'c'], { order: 'lnh' });
    expect(tasks.map((t) => t.id)).toEqual(['l1', 'n1', 'h1']);
    // A lane missing from the order is not claimed from.
    await q.enqueue({ id: 'h2', priority: 'high' }, { id: 'n2' });
    expect((await q.claim('h', ['d', 'e'], { order: 'n' })).tasks.map((t) => t.id)).toEqual(['n2']);
    expect(await q.lane('high')).toEqual(['h2']);
  });

  it('leases one task per token, takes those tokens off the host list, and leaves the rest queued', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b', 'c']);
    await q.enqueue({ id: 't1' }, { id: 't2' }, { id: 't3' }, { id: 't4' });
    const before = await q.now();
    const { tasks } = await q.claim('h', ['a', 'b'], { leaseMs: 10_000 });
    const after = await q.now();
    expect(tasks.map((t) => [t.token, t.id])).toEqual([
      ['a', 't1'],
      ['b', 't2'],
    ]);
    expect(await q.tokens('h')).toEqual(['c']);
    expect(await q.lane('normal')).toEqual(['t3', 't4']);

    const record = await q.record('t1');
    expect(record).toMatchObject({
      state: 'active',
      attempts: '1',
      claims: '1',
      host: 'h',
    });
    // The slot token is the host's business: it is not written on the record.
    expect(record.token).toBeUndefined();
    // A claim returns what a child needs and the lease counters, as they are after the claim.
    const { type, payload, priority, attempts, maxAttempts, timeoutMs, claims } = record;
    expect(tasks[0]?.fields).toEqual({
      type,
      payload,
      priority,
      attempts,
      maxAttempts,
      timeoutMs,
      claims,
    });
    expect(Number(record.startedAt)).toBeGreaterThanOrEqual(before);
    expect(Number(record.startedAt)).toBeLessThanOrEqual(after);
    const active = await q.zset(q.keys.active);
    expect(Object.keys(active).sort()).toEqual(['t1', 't2']);
    expect(active.t1).toBe(Number(record.startedAt) + 10_000);
  });

  it('counts attempts and claims on every lease', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't' });
    await q.claim('h', ['a'], { leaseMs: 1 });
    await sleep(5);
    // The lease expired; put it back the way reap does, then claim again.
    await q.redis.hset(q.keys.task('t'), 'state', 'queued');
    await q.redis.zrem(q.keys.active, 't');
    await q.redis.rpush(q.keys.laneNormal, 't');
    const { tasks } = await q.claim('h', ['b']);
    expect(tasks[0]?.fields).toMatchObject({ attempts: '2', claims: '2' });
    expect(await q.record('t')).toMatchObject({ attempts: '2', claims: '2', host: 'h' });
  });

  it('promotes due delayed tasks before claiming', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'n1' }, { id: 'd1', priority: 'high', delayMs: 50 });
    await q.enqueue({ id: 'later', delayMs: 60_000 });
    await sleep(80);
    const { tasks, nextDelayedAt } = await q.claim('h', ['a']);
    expect(tasks.map((t) => t.id)).toEqual(['d1']);
    expect(tasks[0]?.fields.runAt).toBeUndefined();
    const later = await q.record('later');
    expect(nextDelayedAt).toBe(Number(later.runAt));
    expect(await q.zset(q.keys.delayed)).toEqual({ later: Number(later.runAt) });
    expect(await q.lane('normal')).toEqual(['n1']);
  });

  it('returns nextDelayedAt -1 and nothing when there is no work', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    expect(await q.claim('h', ['a'])).toEqual({ nextDelayedAt: -1, tasks: [] });
    expect(await q.tokens('h')).toEqual(['a']);
    await q.enqueue({ id: 'd', delayMs: 30_000 });
    const runAt = Number((await q.record('d')).runAt);
    expect(await q.claim('h', ['a'])).toEqual({ nextDelayedAt: runAt, tasks: [] });
    // No tokens: nothing is claimed even with work queued.
    await q.enqueue({ id: 'n' });
    expect(await q.claim('h', [])).toEqual({ nextDelayedAt: runAt, tasks: [] });
    expect(await q.lane('normal')).toEqual(['n']);
  });

  it('drops stale ids: a task that is gone or no longer queued', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'gone' }, { id: 'done' }, { id: 'real' });
    await q.redis.del(q.keys.task('gone'));
    await q.redis.hset(q.keys.task('done'), 'state', 'canceled');
    const { tasks } = await q.claim('h', ['a']);
    expect(tasks.map((t) => t.id)).toEqual(['real']);
    expect(await q.lane('normal')).toEqual([]);
    expect(await q.record('done')).toMatchObject({ state: 'canceled', attempts: '0' });
    expect(await q.redis.exists(q.keys.task('gone'))).toBe(0);
  });

  it('sets a task key that is not a hash aside and leaves a dead record in its place', async () => {
    const q = suite.queue();
    await q.redis.set(q.keys.task('bad'), 'junk');
    await q.redis.rpush(q.keys.laneNormal, 'bad');
    await q.enqueue({ id: 'good' });
    const { tasks } = await q.claim('h', ['a']);
    expect(tasks.map((t) => t.id)).toEqual(['good']);

    const aside = `${q.keys.prefix}corrupt:bad`;
    expect(await q.redis.get(aside)).toBe('junk');
    const ttl = await q.redis.pttl(aside);
    expect(ttl).toBeGreaterThan(2_592_000_000 - 10_000);
    const record = await q.record('bad');
    expect(record).toMatchObject({ id: 'bad', state: 'dead' });
    expect(record.error).toBe(
      `corrupted record: expected a hash, found a string (kept at ${aside})`,
    );
    expect(await q.redis.pttl(q.keys.task('bad'))).toBeGreaterThan(2_592_000_000 - 10_000);
    expect(Object.keys(await q.zset(q.keys.dead))).toEqual(['bad']);
    expect((await q.stats()).dead).toBe('1');
  });

  it('still leases a record with a bad field, so the host can fail it as corrupt', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't' });
    await q.redis.hset(q.keys.task('t'), 'attempts', 'abc', 'claims', '4');
    const { tasks } = await q.claim('h', ['a']);
    const fields = tasks[0]?.fields;
    // The lease id keeps counting, so a lease handed out before cannot be reused.
    expect(fields).toMatchObject({ attempts: 'abc', claims: '5' });
    const record = await q.record('t');
    expect(record).toMatchObject({ state: 'active', attempts: 'abc', claims: '5', host: 'h' });
    expect(() => decodeTaskRecord('t', record)).toThrow(CorruptRecordError);
    expect(Object.keys(await q.zset(q.keys.active))).toEqual(['t']);
  });

  it('starts the lease count at 1 when claims is not a number', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't' });
    await q.redis.hset(q.keys.task('t'), 'claims', 'x');
    const { tasks } = await q.claim('h', ['a']);
    expect(tasks[0]?.fields).toMatchObject({ attempts: '1', claims: '1' });
    expect(await q.record('t')).toMatchObject({ state: 'active', attempts: '1', claims: '1' });
  });

  it('leases a record with an unknown state so the host can fail it as corrupt', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't' });
    await q.redis.hset(q.keys.task('t'), 'state', 'sleeping');
    const { tasks } = await q.claim('h', ['a']);
    expect(tasks.map((t) => t.id)).toEqual(['t']);
    expect((await q.record('t')).state).toBe('active');
  });

  describe('the wake-up signal', () => {
    it('is left when work remains after every token got a task', async () => {
      const q = suite.queue();
      await q.enqueue({ id: 't1' }, { id: 't2' }, { id: 't3' });
      await q.redis.del(q.keys.signal);
      await q.claim('h', ['a', 'b']);
      expect(await q.redis.lrange(q.keys.signal, 0, -1)).toEqual(['1']);
    });

    it('is not left when the lanes are drained', async () => {
      const q = suite.queue();
      await q.enqueue({ id: 't1' }, { id: 't2' });
      await q.redis.del(q.keys.signal);
      await q.claim('h', ['a', 'b']);
      expect(await q.redis.exists(q.keys.signal)).toBe(0);
      await q.enqueue({ id: 't3' });
      await q.redis.del(q.keys.signal);
      await q.claim('h', ['c', 'd']);
      expect(await q.redis.exists(q.keys.signal)).toBe(0);
    });
  });
});
