import { describe, expect, it } from 'vitest';
import { failScript } from '../../shared/scripts/index.js';
import { claimedFrom, type EngineQueue, engineSuite, type TaskInit } from './harness.js';

const suite = engineSuite('fail');

interface FailOptions {
  error?: string;
  unrecoverable?: boolean;
  jitter?: number;
  next?: boolean;
  host?: string;
  lease?: string;
}

/** fail for host 'h' with the task's current lease unless `lease` is given. */
async function fail(q: EngineQueue, token: string, id: string, o: FailOptions = {}) {
  const lease = o.lease ?? (await q.record(id)).claims ?? '';
  const reply = await q.runArray(
    failScript,
    o.host ?? 'h',
    token,
    id,
    lease,
    o.error ?? 'boom',
    o.unrecoverable ? 1 : 0,
    o.jitter ?? 0,
    o.next ? 1 : 0,
    30_000,
    'hnl',
  );
  return {
    status: reply[0],
    outcome: reply[1],
    retryAt: Number(reply[2]),
    next: claimedFrom(reply, 3),
  };
}

/** Enqueues `task` and claims it with token 'a'. */
async function active(q: EngineQueue, task: TaskInit): Promise<void> {
  await q.enqueue(task);
  const { tasks } = await q.claim('h', ['a']);
  if (tasks[0]?.id !== task.id) throw new Error(`could not claim ${task.id}`);
}

/** Makes a failed task queued and claims it again, as promote and claim would after the backoff. */
async function retry(q: EngineQueue, id: string): Promise<void> {
  await q.redis.zrem(q.keys.delayed, id);
  await q.redis.hset(q.keys.task(id), 'state', 'queued');
  await q.redis.rpush(q.keys.laneNormal, id);
  await q.claim('h', ['a']);
}

describe('fail script', () => {
  it('schedules a retry after backoff/2 + jitter * backoff/2', async () => {
    const q = suite.queue();
    await active(q, { id: 't', backoffMs: 10_000, maxAttempts: 3 });
    for (const jitter of [0, 0.5, 0.999]) {
      if (jitter > 0) await retryWithAttempts(q, 't', 1);
      const before = await q.now();
      const r = await fail(q, 'a', 't', { jitter, error: `jitter ${jitter}` });
      const after = await q.now();
      expect([r.status, r.outcome]).toEqual([1, 'failed']);
      const wait = Math.floor(5_000 + jitter * 5_000);
      expect(r.retryAt).toBeGreaterThanOrEqual(before + wait);
      expect(r.retryAt).toBeLessThanOrEqual(after + wait);
      const record = await q.record('t');
      expect(record).toMatchObject({ state: 'failed', error: `jitter ${jitter}` });
      expect(Number(record.runAt)).toBe(r.retryAt);
      expect(Number(record.finishedAt)).toBeGreaterThanOrEqual(before);
      // finishedAt is the script's clock: the wait is exact.
      expect(r.retryAt - Number(record.finishedAt)).toBe(wait);
      // The host that last leased it stays on the record, for tracing.
      expect(record.host).toBe('h');
      expect(await q.zset(q.keys.delayed)).toEqual({ t: r.retryAt });
      expect(await q.zset(q.keys.active)).toEqual({});
      expect(await q.redis.pttl(q.keys.task('t'))).toBe(-1);
    }
    expect((await q.stats()).failed).toBe('3');
    expect((await q.stats()).dead).toBeUndefined();
  });

  it('doubles the backoff on each attempt, up to backoffMaxMs', async () => {
    const q = suite.queue();
    await active(q, { id: 't', backoffMs: 1000, backoffMaxMs: 5000, maxAttempts: 10 });
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      if (attempt > 1) await retry(q, 't');
      expect((await q.record('t')).attempts).toBe(String(attempt));
      // No jitter: the wait is half the (capped) backoff.
      const r = await fail(q, 'a', 't', { jitter: 0 });
      waits.push(r.retryAt - Number((await q.record('t')).finishedAt));
    }
    expect(waits).toEqual([500, 1000, 2000, 2500, 2500]);
  });

  it('sends the task to dead when its attempts are spent', async () => {
    const q = suite.queue();
    await active(q, { id: 't', maxAttempts: 2, deadTtlMs: 120_000 });
    expect((await fail(q, 'a', 't')).outcome).toBe('failed');
    await retry(q, 't');
    const before = await q.now();
    const r = await fail(q, 'a', 't', { error: 'still broken' });
    expect(r).toEqual({ status: 1, outcome: 'dead', retryAt: 0, next: [] });
    const record = await q.record('t');
    expect(record).toMatchObject({ state: 'dead', error: 'still broken', attempts: '2' });
    expect(record.runAt).toBeUndefined();
    // The host that last leased it stays on the record, for tracing.
    expect(record.host).toBe('h');
    const ttl = await q.redis.pttl(q.keys.task('t'));
    expect(ttl).toBeGreaterThan(115_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
    const dead = await q.zset(q.keys.dead);
    expect(Object.keys(dead)).toEqual(['t']);
    expect(dead.t).toBe(Number(record.finishedAt));
    expect(dead.t).toBeGreaterThanOrEqual(before);
    expect(await q.zset(q.keys.delayed)).toEqual({});
    expect(await q.zset(q.keys.active)).toEqual({});
    expect(await q.stats()).toMatchObject({ failed: '1', dead: '1' });
  });

  it('trims from the dead index only entries whose record has expired', async () => {
    const q = suite.queue();
    const old = Date.now() - 10_000;
    await q.redis.zadd(q.keys.dead, old, 'gone', old, 'kept');
    await q.redis.hset(q.keys.task('kept'), 'id', 'kept', 'state', 'dead');
    await active(q, { id: 't', maxAttempts: 1, deadTtlMs: 1_000 });
    expect((await fail(q, 'a', 't')).outcome).toBe('dead');
    expect(Object.keys(await q.zset(q.keys.dead)).sort()).toEqual(['kept', 't']);
  });

  it('sends an unrecoverable failure to dead at once', async () => {
    const q = suite.queue();
    await active(q, { id: 't', maxAttempts: 5 });
    const r = await fail(q, 'a', 't', { unrecoverable: true, error: 'bad payload' });
    expect([r.status, r.outcome, r.retryAt]).toEqual([1, 'dead', 0]);
    expect(await q.record('t')).toMatchObject({ state: 'dead', error: 'bad payload' });
    expect(Object.keys(await q.zset(q.keys.dead))).toEqual(['t']);
    expect(await q.stats()).toMatchObject({ dead: '1' });
  });

  it.each([
    ['a wrong lease', { lease: '7' }],
    ['another host', { host: 'other' }],
  ])('reports lost and stores nothing with %s', async (_what, options) => {
    const q = suite.queue();
    await active(q, { id: 't' });
    const record = await q.record('t');
    const r = await fail(q, 'a', 't', options);
    expect(r).toEqual({ status: 0, outcome: 'lost', retryAt: 0, next: [] });
    expect(await q.record('t')).toEqual(record);
    expect(Object.keys(await q.zset(q.keys.active))).toEqual(['t']);
    expect((await q.stats()).failed).toBeUndefined();
  });

  it('claims the next task for the same token, or gives the token back', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b']);
    await active(q, { id: 't1' });
    await q.enqueue({ id: 't2' });
    const r = await fail(q, 'a', 't1', { next: true });
    expect(r.outcome).toBe('failed');
    expect(r.next.map((t) => [t.token, t.id, t.fields.claims])).toEqual([['a', 't2', '1']]);
    expect((await q.record('t2')).state).toBe('active');
    expect(await q.tokens('h')).toEqual(['b']);
    const again = await fail(q, 'a', 't2', { next: true });
    expect(again.next).toEqual([]);
    expect(await q.tokens('h')).toEqual(['b', 'a']);
  });
});

/** Puts a failed task back to active with `attempts` attempts. */
async function retryWithAttempts(q: EngineQueue, id: string, attempts: number): Promise<void> {
  await retry(q, id);
  await q.redis.hset(q.keys.task(id), 'attempts', attempts);
}
