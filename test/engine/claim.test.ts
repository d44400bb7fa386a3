import { describe, expect, it } from 'vitest';
import { CorruptRecordError } from '../../shared/errors.js';
import { reapScript, unregisterHostScript } from '../../shared/scripts/index.js';
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
    // Each token holds the id of its task; the one left without a task stays free.
    expect(await q.tokens('h')).toEqual({ a: 'h1', b: 'h2', c: 'n1', d: 'n2', e: 'l1', f: '' });
  });

  it('follows the lane order it is given', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b', 'c', 'd', 'e']);
    await q.enqueue({ id: 'h1', priority: 'high' }, { id: 'n1' }, { id: 'l1', priority: 'low' });
    const { tasks } = await q.claim('h', ['a', 'b', 'c'], { order: 'lnh' });
    expect(tasks.map((t) => t.id)).toEqual(['l1', 'n1', 'h1']);
    // A lane missing from the order is not claimed from.
    await q.enqueue({ id: 'h2', priority: 'high' }, { id: 'n2' });
    expect((await q.claim('h', ['d', 'e'], { order: 'n' })).tasks.map((t) => t.id)).toEqual(['n2']);
    expect(await q.lane('high')).toEqual(['h2']);
  });

  it('leases one task per token, writes its id on the token, and leaves the rest queued', async () => {
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
    expect(await q.tokens('h')).toEqual({ a: 't1', b: 't2', c: '' });
    expect(await q.lane('normal')).toEqual(['t3', 't4']);

    const record = await q.record('t1');
    expect(record).toMatchObject({
      state: 'active',
      attempts: '1',
      claims: '1',
      host: 'h',
    });
    // The slot token is kept in the host's token hash, not on the record.
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
    await q.registerHost('h', ['a', 'b']);
    await q.enqueue({ id: 't', backoffMs: 0 });
    const [first] = (await q.claim('h', ['a'])).tasks;
    // The run fails; with no backoff its retry is due at once, and the claim promotes it.
    const { outcomes } = await q.finish(
      'h',
      [{ token: 'a', id: 't', lease: first?.fields.claims ?? '', kind: 'fail' }],
      { mode: 'free' },
    );
    expect(outcomes).toEqual(['failed']);
    const { tasks } = await q.claim('h', ['b']);
    expect(tasks.map((t) => t.id)).toEqual(['t']);
    expect(tasks[0]?.fields).toMatchObject({ attempts: '2', claims: '2' });
    expect(await q.record('t')).toMatchObject({ attempts: '2', claims: '2', host: 'h' });
  });

  it('promotes due delayed tasks before claiming', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
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
    expect(await q.tokens('h')).toEqual({ a: '' });
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
    await q.registerHost('h', ['a']);
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
    await q.registerHost('h', ['a']);
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
    await q.registerHost('h', ['a']);
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
    await q.registerHost('h', ['a']);
    await q.enqueue({ id: 't' });
    await q.redis.hset(q.keys.task('t'), 'claims', 'x');
    const { tasks } = await q.claim('h', ['a']);
    expect(tasks[0]?.fields).toMatchObject({ attempts: '1', claims: '1' });
    expect(await q.record('t')).toMatchObject({ state: 'active', attempts: '1', claims: '1' });
  });

  it('leases a record with an unknown state so the host can fail it as corrupt', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    await q.enqueue({ id: 't' });
    await q.redis.hset(q.keys.task('t'), 'state', 'sleeping');
    const { tasks } = await q.claim('h', ['a']);
    expect(tasks.map((t) => t.id)).toEqual(['t']);
    expect((await q.record('t')).state).toBe('active');
  });

  describe('a token that still holds a task of this host (an earlier reply was lost)', () => {
    it('gets the same task again: nothing new is leased and the attempt is charged once', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a', 'b']);
      await q.enqueue({ id: 't1' }, { id: 't2' }, { id: 't3' });
      const first = await q.claim('h', ['a', 'b']);
      expect(first.tasks.map((t) => [t.token, t.id])).toEqual([
        ['a', 't1'],
        ['b', 't2'],
      ]);
      const before = await q.snapshot();
      // The same call again, as ioredis re-sends it after a reconnect.
      const again = await q.claim('h', ['a', 'b']);
      expect(again).toEqual(first);
      expect(again.tasks[0]?.fields).toMatchObject({ attempts: '1', claims: '1' });
      // Nothing was written: same records, lease deadlines, lane and tokens.
      expect(await q.snapshot()).toEqual(before);
      expect(await q.lane('normal')).toEqual(['t3']);
      expect(await q.tokens('h')).toEqual({ a: 't1', b: 't2' });
    });

    it('is returned even after a token before it found the lanes empty', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a', 'b']);
      await q.enqueue({ id: 't1' });
      await q.claim('h', ['a']);
      // 'b' pops nothing (no more pops after that), but 'a' still gets its task back.
      const { tasks } = await q.claim('h', ['b', 'a']);
      expect(tasks.map((t) => [t.token, t.id])).toEqual([['a', 't1']]);
      expect(await q.tokens('h')).toEqual({ a: 't1', b: '' });
      expect((await q.record('t1')).claims).toBe('1');
    });

    it('leases a new task to a token whose task is gone, no longer active or not this host’s', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a', 'b', 'c', 'd']);
      await q.registerHost('other', ['x']);
      await q.enqueue({ id: 'theirs' });
      await q.claim('other', ['x']);
      await q.enqueue({ id: 'done' });
      const [done] = (await q.claim('h', ['c'])).tasks;
      await q.finish(
        'h',
        [{ token: 'c', id: 'done', lease: done?.fields.claims ?? '', kind: 'ok' }],
        {
          mode: 'free',
        },
      );
      await q.enqueue({ id: 'n1' }, { id: 'n2' }, { id: 'n3' });
      // Tokens left pointing at tasks that are not (or no longer) this host's running tasks.
      await q.redis.hset(q.keys.tokens('h'), 'a', 'gone', 'b', 'theirs', 'c', 'done', 'd', 'done');
      const theirs = await q.record('theirs');
      const { tasks } = await q.claim('h', ['a', 'b', 'c', 'd']);
      expect(tasks.map((t) => [t.token, t.id])).toEqual([
        ['a', 'n1'],
        ['b', 'n2'],
        ['c', 'n3'],
      ]);
      expect(tasks[0]?.fields).toMatchObject({ attempts: '1', claims: '1' });
      expect(await q.record('theirs')).toEqual(theirs);
      expect((await q.record('done')).state).toBe('succeeded');
      // 'd' found nothing to lease: it is freed.
      expect(await q.tokens('h')).toEqual({ a: 'n1', b: 'n2', c: 'n3', d: '' });
    });

    it('frees a stale token once the lanes are empty, after the first empty pop too', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a', 'b']);
      await q.redis.hset(q.keys.tokens('h'), 'a', 'gone', 'b', 'gone-too');
      expect((await q.claim('h', ['a', 'b'])).tasks).toEqual([]);
      expect(await q.tokens('h')).toEqual({ a: '', b: '' });
    });

    it('never leases one task to two tokens after a live host’s orphaned lease was reaped', async () => {
      // Reap leaves the orphan's token naming it; the token stores the lease too, so it does not
      // match the task's next lease to the same host.
      const q = suite.queue();
      await q.registerHost('h', ['x', 'y']);
      await q.enqueue({ id: 't' });
      // The host never learns of this lease (its reply was lost and the claim not re-sent).
      await q.claim('h', ['x'], { leaseMs: 1 });
      await sleep(5);
      // Its host is alive, but the lease expired longer ago than the grace: an orphan.
      expect(await q.runArray(reapScript, 100, 0)).toEqual([1, 0]);
      expect(await q.tokens('h')).toEqual({ x: 't', y: '' });
      // 'y' leases it anew (lease 2); 'x' still names it, and it is active for this host again.
      const { tasks } = await q.claim('h', ['y', 'x']);
      expect(tasks.map((t) => [t.token, t.id, t.fields.claims])).toEqual([['y', 't', '2']]);
    });
  });

  describe('a host that is not alive', () => {
    it('gets nothing when it never registered, or unregistered, and no token hash is made', async () => {
      const q = suite.queue();
      await q.enqueue({ id: 't' });
      expect(await q.claim('ghost', ['a'])).toEqual({ nextDelayedAt: -1, tasks: [] });
      expect(await q.redis.exists(q.keys.tokens('ghost'))).toBe(0);
      await q.registerHost('h', ['a']);
      await q.run(unregisterHostScript, 'h');
      expect((await q.claim('h', ['a'])).tasks).toEqual([]);
      expect(await q.redis.exists(q.keys.tokens('h'))).toBe(0);
      expect(await q.lane('normal')).toEqual(['t']);
      expect((await q.record('t')).state).toBe('queued');
    });

    it('gets nothing once its heartbeat expired; due delayed tasks are still promoted', async () => {
      const q = suite.queue();
      await q.registerHost('gone', ['a'], 1);
      await q.registerHost('h', ['a']);
      await q.enqueue({ id: 't' }, { id: 'd', priority: 'high', delayMs: 1 });
      await sleep(5);
      expect((await q.claim('gone', ['a'])).tasks).toEqual([]);
      expect(await q.redis.exists(q.keys.tokens('gone'))).toBe(0);
      // Its hosts entry expired while its token hash is still there: the hash is not touched.
      await q.redis.zadd(q.keys.hosts, 1, 'h');
      expect(await q.claim('h', ['a'])).toEqual({ nextDelayedAt: -1, tasks: [] });
      expect(await q.tokens('h')).toEqual({ a: '' });
      expect(await q.lane('high')).toEqual(['d']);
      expect(await q.lane('normal')).toEqual(['t']);
    });
  });

  describe('the wake-up signal', () => {
    it('is left when work remains after every token got a task', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a', 'b']);
      await q.enqueue({ id: 't1' }, { id: 't2' }, { id: 't3' });
      await q.redis.del(q.keys.signal);
      await q.claim('h', ['a', 'b']);
      expect(await q.redis.lrange(q.keys.signal, 0, -1)).toEqual(['1']);
    });

    it('is not left when the lanes are drained', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a', 'b', 'c', 'd']);
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
