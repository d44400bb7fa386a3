/**
 * Task search through the `recent` index (search-tasks, find-by-key) and the index's bounds:
 * one ZADD per enqueue, a trim now and then, ids of gone records dropped by searches and by the
 * heartbeat's sweep.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/errors.js';
import {
  heartbeatScript,
  RECENT_MAX,
  RECENT_SWEEP_BATCH,
  RECENT_TRIM_EVERY,
  SEARCH_MAX_EXAMINED,
  searchTasksScript,
} from '../../shared/scripts/index.js';
import { engineSuite, sleep } from './harness.js';

const suite = engineSuite('search-tasks');

describe('search-tasks script', () => {
  it('pages every task newest first with a cursor that later enqueues do not shift', async () => {
    const q = suite.queue();
    for (const id of ['t1', 't2', 't3', 't4', 't5']) {
      await q.enqueue({ id, type: id === 't3' ? 'other' : 'square', idempotencyKey: `k-${id}` });
      await sleep(2);
    }
    const first = await q.client.searchTasks({ limit: 2 });
    expect(first.tasks.map((t) => t.id)).toEqual(['t5', 't4']);
    expect(first.cursor).toMatch(/^\d+:t4$/);
    expect(first.tasks[0]).toMatchObject({
      type: 'square',
      state: 'queued',
      priority: 'normal',
      attempts: 0,
      maxAttempts: 3,
      runAt: null,
      finishedAt: null,
      error: null,
      idempotencyKey: 'k-t5',
    });
    expect(first.tasks[0]?.enqueuedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    await q.enqueue({ id: 'new' });
    const second = await q.client.searchTasks({ limit: 2, cursor: first.cursor ?? '' });
    expect(second.tasks.map((t) => t.id)).toEqual(['t3', 't2']);
    const third = await q.client.searchTasks({ limit: 2, cursor: second.cursor ?? '' });
    expect(third).toEqual({ tasks: [expect.objectContaining({ id: 't1' })], cursor: null });
  });

  it('filters by type, state and enqueue time', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'a', type: 'x' });
    await sleep(3);
    const mid = await q.now();
    await sleep(3);
    await q.enqueue({ id: 'b', type: 'y' }, { id: 'c', type: 'x', delayMs: 60_000 });
    await sleep(3);
    const end = await q.now();
    await sleep(3);
    await q.enqueue({ id: 'd', type: 'x' });
    const ids = async (query: Parameters<typeof q.client.searchTasks>[0]) =>
      (await q.client.searchTasks(query)).tasks.map((t) => t.id).sort();
    expect(await ids({ type: 'x' })).toEqual(['a', 'c', 'd']);
    expect(await ids({ state: 'delayed' })).toEqual(['c']);
    expect(await ids({ type: 'x', state: 'queued' })).toEqual(['a', 'd']);
    expect(await ids({ from: mid })).toEqual(['b', 'c', 'd']);
    expect(await ids({ to: mid })).toEqual(['a']);
    expect(await ids({ from: mid, to: end })).toEqual(['b', 'c']);
    expect(await ids({ from: mid, to: end, type: 'x' })).toEqual(['c']);
  });

  it('keeps the order and the cursor exact among tasks enqueued in the same millisecond', async () => {
    const q = suite.queue();
    const batch = Array.from({ length: 30 }, (_, i) => ({ id: `b${String(i).padStart(2, '0')}` }));
    await q.enqueue(...batch);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await q.client.searchTasks({ limit: 7, ...(cursor ? { cursor } : {}) });
      seen.push(...page.tasks.map((t) => t.id));
      if (!page.cursor) break;
      cursor = page.cursor;
    }
    expect(seen).toEqual(batch.map((t) => t.id).reverse());
  });

  it(`examines at most ${SEARCH_MAX_EXAMINED} entries per call and hands back a cursor`, async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'needle', type: 'rare' });
    await sleep(2);
    const hay = Array.from({ length: SEARCH_MAX_EXAMINED + 10 }, (_, i) => ({ id: `h${i}` }));
    for (let i = 0; i < hay.length; i += 500) await q.enqueue(...hay.slice(i, i + 500));
    const first = await q.client.searchTasks({ type: 'rare' });
    expect(first.tasks).toEqual([]);
    expect(first.cursor).not.toBeNull();
    const second = await q.client.searchTasks({ type: 'rare', cursor: first.cursor ?? '' });
    expect(second).toEqual({ tasks: [expect.objectContaining({ id: 'needle' })], cursor: null });
  });

  it('drops ids whose record is gone (not under EVALSHA_RO) and shows current states', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'a' }, { id: 'b' }, { id: 'c' });
    await q.redis.del(q.keys.task('b'));
    await q.client.cancel('c');
    await q.redis.script('LOAD', searchTasksScript.source);
    expect(searchTasksScript.readOnly).toBe(true);
    const page = await q.client.searchTasks({});
    expect(page.tasks.map((t) => [t.id, t.state])).toEqual([
      ['c', 'canceled'],
      ['a', 'queued'],
    ]);
    expect(Object.keys(await q.zset(q.keys.recent)).sort()).toEqual(['a', 'c']);
    expect(page.tasks[0]?.finishedAt).not.toBeNull();
  });

  it('refuses a bad cursor, state or limit naming the field', async () => {
    const q = suite.queue();
    const issue = async (query: object) => {
      const error = await q.client
        .searchTasks(query as Parameters<typeof q.client.searchTasks>[0])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).issues.map((i) => i.path);
    };
    expect(await issue({ cursor: 'nope' })).toEqual(['cursor']);
    expect(await issue({ state: 'sleeping' })).toEqual(['state']);
    expect(await issue({ limit: 0 })).toEqual(['limit']);
    expect(await issue({ from: -1, to: 1.5 })).toEqual(['from', 'to']);
    await expect(q.run(searchTasksScript, '', '', '', '', 'x', 10)).rejects.toThrow(/bad cursor/);
  });
});

describe('find-by-key script', () => {
  it('finds the task an idempotency key names, or null', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't', idempotencyKey: 'order-42', type: 'mail' });
    expect(await q.client.findByIdempotencyKey('order-42')).toMatchObject({
      id: 't',
      type: 'mail',
      state: 'queued',
      idempotencyKey: 'order-42',
    });
    expect(await q.client.findByIdempotencyKey('order-43')).toBeNull();
    await q.redis.del(q.keys.task('t'));
    expect(await q.client.findByIdempotencyKey('order-42')).toBeNull();
    await expect(q.client.findByIdempotencyKey('')).rejects.toThrow(ValidationError);
  });
});

describe('the recent index', () => {
  it('gets one entry per new task, scored by its enqueue time, none for duplicates', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'a', idempotencyKey: 'k' }, { id: 'b' });
    await q.enqueue({ id: 'dup', idempotencyKey: 'k' });
    const index = await q.zset(q.keys.recent);
    expect(Object.keys(index).sort()).toEqual(['a', 'b']);
    expect(index.a).toBe(Number((await q.record('a')).createdAt));
  });

  it(`is trimmed to the newest ${RECENT_MAX} when the enqueued total crosses a multiple of ${RECENT_TRIM_EVERY}`, async () => {
    const q = suite.queue();
    // Fill the index past its cap directly (cheaper than enqueueing 100,000 tasks).
    const now = await q.now();
    const filler: (string | number)[] = [];
    for (let i = 0; i < RECENT_MAX + 50; i++) filler.push(now - 1_000_000 + i, `old-${i}`);
    for (let i = 0; i < filler.length; i += 20_000) {
      await q.redis.zadd(q.keys.recent, ...filler.slice(i, i + 20_000));
    }
    await q.redis.hset(q.keys.stats, 'enqueued', RECENT_TRIM_EVERY - 2);
    await q.enqueue({ id: 'x1' });
    expect(await q.redis.zcard(q.keys.recent)).toBe(RECENT_MAX + 51);
    await q.enqueue({ id: 'x2' }, { id: 'x3' });
    expect(await q.redis.zcard(q.keys.recent)).toBe(RECENT_MAX);
    expect(await q.redis.zscore(q.keys.recent, 'x3')).not.toBeNull();
    expect(await q.redis.zscore(q.keys.recent, 'old-0')).toBeNull();
  });

  it(`is swept ${RECENT_SWEEP_BATCH} entries per heartbeat, round-robin, for gone records`, async () => {
    const q = suite.queue();
    // Enqueued in one millisecond: the index orders them by id, so the ids are padded.
    const id = (i: number) => `t${String(i).padStart(3, '0')}`;
    const tasks = Array.from({ length: RECENT_SWEEP_BATCH + 20 }, (_, i) => ({ id: id(i) }));
    await q.enqueue(...tasks);
    // Every other record is gone.
    for (let i = 0; i < tasks.length; i += 2) await q.redis.del(q.keys.task(id(i)));
    await q.registerHost('h', ['0.0']);
    await q.run(heartbeatScript, 'h', 60_000, '', '', '0.0');
    expect(await q.redis.zcard(q.keys.recent)).toBe(tasks.length - RECENT_SWEEP_BATCH / 2);
    await q.run(heartbeatScript, 'h', 60_000, '', '', '0.0');
    expect(await q.redis.zcard(q.keys.recent)).toBe(tasks.length / 2);
    expect((await q.stats()).recentSweep).toBe('0');
  });
});
