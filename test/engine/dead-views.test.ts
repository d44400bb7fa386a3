/**
 * The dead-letter views and actions of the dashboard: dead-page (filtered pages), delete-dead
 * (by id) and dead-matching (retry or delete all matching a filter, a chunk per call).
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/errors.js';
import {
  BULK_CHUNK,
  BULK_MAX_EXAMINED,
  deadMatchingScript,
  deadPageScript,
  deleteDeadScript,
} from '../../shared/scripts/index.js';
import { type EngineQueue, engineSuite, sleep } from './harness.js';

const suite = engineSuite('dead-views');

/** Enqueues tasks of `type` and kills them (a 'fatal' finish each), one ms apart. */
async function kill(q: EngineQueue, type: string, ...ids: string[]): Promise<void> {
  await q.registerHost('h', ['a']);
  for (const id of ids) {
    await q.enqueue({ id, type });
    await q.claim('h', ['a']);
    const { outcomes } = await q.finish(
      'h',
      [{ token: 'a', id, lease: await q.lease(id), kind: 'fatal', text: `${id} broke` }],
      { mode: 'free' },
    );
    expect(outcomes).toEqual(['dead']);
    await sleep(2);
  }
}

/** Writes `n` dead records of `type` straight into Redis (quicker than killing them). */
async function bury(q: EngineQueue, type: string, n: number, from = 0): Promise<string[]> {
  const now = await q.now();
  const ids: string[] = [];
  const pipeline = q.redis.pipeline();
  for (let i = from; i < from + n; i++) {
    const id = `${type}-${String(i).padStart(5, '0')}`;
    ids.push(id);
    pipeline.hset(q.keys.task(id), {
      id,
      type,
      payload: '{}',
      priority: 'low',
      state: 'dead',
      attempts: 3,
      maxAttempts: 3,
      timeoutMs: 1000,
      createdAt: now,
      finishedAt: now,
      error: 'x',
    });
    pipeline.zadd(q.keys.dead, now - 100_000 + i, id);
  }
  await pipeline.exec();
  return ids;
}

describe('dead-page script', () => {
  it('pages dead letters newest first, by type and death time', async () => {
    const q = suite.queue();
    await kill(q, 'x', 'x1', 'x2');
    const mid = await q.now();
    await sleep(2);
    await kill(q, 'y', 'y1');
    await kill(q, 'x', 'x3');
    const page = await q.client.deadPage({}, 0, 10);
    expect(page.total).toBe(4);
    expect(page.tasks.map((t) => t.id)).toEqual(['x3', 'y1', 'x2', 'x1']);
    expect(page.tasks[0]).toMatchObject({ state: 'dead', type: 'x', error: 'x3 broke' });
    expect(page.tasks[0]?.finishedAt).not.toBeNull();
    expect((await q.client.deadPage({}, 1, 2)).tasks.map((t) => t.id)).toEqual(['y1', 'x2']);
    expect((await q.client.deadPage({ type: 'x' }, 0, 10)).tasks.map((t) => t.id)).toEqual([
      'x3',
      'x2',
      'x1',
    ]);
    // With a type, the offset counts matches.
    expect((await q.client.deadPage({ type: 'x' }, 1, 1)).tasks.map((t) => t.id)).toEqual(['x2']);
    expect(await q.client.deadPage({ from: mid }, 0, 10)).toMatchObject({
      total: 2,
      tasks: [{ id: 'x3' }, { id: 'y1' }],
    });
    expect(await q.client.deadPage({ to: mid }, 0, 10)).toMatchObject({
      total: 2,
      tasks: [{ id: 'x2' }, { id: 'x1' }],
    });
    expect(deadPageScript.readOnly).toBe(true);
  });

  it('drops ids whose record is gone as it meets them', async () => {
    const q = suite.queue();
    await kill(q, 'x', 'a', 'b', 'c');
    await q.redis.del(q.keys.task('b'));
    expect((await q.client.deadPage({}, 0, 10)).tasks.map((t) => t.id)).toEqual(['c', 'a']);
    expect(Object.keys(await q.zset(q.keys.dead)).sort()).toEqual(['a', 'c']);
  });
});

describe('delete-dead script', () => {
  it('deletes dead tasks with their index entries, answers the rest as not dead', async () => {
    const q = suite.queue();
    await kill(q, 'x', 'd1', 'd2', 'd3');
    await q.enqueue({ id: 'alive' });
    expect(await q.client.deleteDead(['d1', 'alive', 'nope'])).toEqual({
      deleted: 1,
      notDead: ['alive', 'nope'],
    });
    expect(await q.redis.exists(q.keys.task('d1'))).toBe(0);
    expect(Object.keys(await q.zset(q.keys.dead)).sort()).toEqual(['d2', 'd3']);
    expect(await q.redis.zscore(q.keys.recent, 'd1')).toBeNull();
    expect((await q.record('alive')).state).toBe('queued');
    // Another call: d1 is gone, not dead.
    expect(await q.client.deleteDead(['d1'])).toEqual({ deleted: 0, notDead: ['d1'] });
    // The same call sent again (its reply lost): the same answer, nothing more deleted.
    const first = await q.runArray(deleteDeadScript, 'call-1', 'd3', 'd2x');
    expect(first).toEqual([1, 'd2x']);
    expect(await q.runArray(deleteDeadScript, 'call-1', 'd3', 'd2x')).toEqual(first);
    expect(await q.runArray(deleteDeadScript, 'call-2', 'd3')).toEqual([0, 'd3']);
    const tombstone = `${q.keys.prefix}deleted:d3`;
    expect(await q.redis.get(tombstone)).toBe('call-1');
    expect(await q.redis.pttl(tombstone)).toBeGreaterThan(0);
    expect(Object.keys(await q.zset(q.keys.dead))).toEqual(['d2']);
    expect(deleteDeadScript.readOnly).toBe(false);
  });
});

describe('dead-matching script', () => {
  it(`retries every dead task of a type in chunks of ${BULK_CHUNK}, leaving the others`, async () => {
    const q = suite.queue();
    const xs = await bury(q, 'x', BULK_CHUNK + 50);
    const ys = await bury(q, 'y', 30, 1_000);
    let cursor: string | null = null;
    let calls = 0;
    let total = 0;
    for (;;) {
      const progress = await q.client.retryDeadMatching({ type: 'x' }, cursor);
      calls += 1;
      total += progress.processed;
      expect(progress.processed).toBeLessThanOrEqual(BULK_CHUNK);
      if (progress.done) {
        expect(progress.cursor).toBeNull();
        break;
      }
      cursor = progress.cursor;
    }
    expect(total).toBe(xs.length);
    expect(calls).toBe(2);
    expect(await q.redis.llen(q.keys.laneLow)).toBe(xs.length);
    // Oldest first into the lane.
    expect(await q.redis.lindex(q.keys.laneLow, 0)).toBe(xs[0]);
    expect(await q.record(xs[0] ?? '')).toMatchObject({ state: 'queued', attempts: '0' });
    expect(Object.keys(await q.zset(q.keys.dead)).sort()).toEqual(ys);
  });

  it(`examines at most ${BULK_MAX_EXAMINED} entries per call, and goes on from its cursor`, async () => {
    const q = suite.queue();
    await bury(q, 'other', BULK_MAX_EXAMINED + 5);
    const [target] = await bury(q, 'x', 1, BULK_MAX_EXAMINED + 10);
    const first = await q.client.deleteDeadMatching({ type: 'x' }, null);
    expect(first).toMatchObject({ processed: 0, done: false });
    const second = await q.client.deleteDeadMatching({ type: 'x' }, first.cursor);
    expect(second).toEqual({ processed: 1, done: true, cursor: null });
    expect(await q.redis.exists(q.keys.task(target ?? ''))).toBe(0);
    expect(await q.redis.zcard(q.keys.dead)).toBe(BULK_MAX_EXAMINED + 5);
  });

  it('does not take up tasks that die after the first call (the range end is pinned)', async () => {
    const q = suite.queue();
    await bury(q, 'x', BULK_CHUNK + 1);
    const first = await q.client.retryDeadMatching({}, null);
    expect(first).toMatchObject({ processed: BULK_CHUNK, done: false });
    // A task dies meanwhile (a retried one failing again, say).
    await sleep(2);
    await kill(q, 'x', 'late');
    const second = await q.client.retryDeadMatching({}, first.cursor);
    expect(second).toEqual({ processed: 1, done: true, cursor: null });
    expect(Object.keys(await q.zset(q.keys.dead))).toEqual(['late']);
  });

  it('deletes by death-time range, and tidies entries that name nothing dead', async () => {
    const q = suite.queue();
    await kill(q, 'x', 'old');
    await sleep(2);
    const mid = await q.now();
    await sleep(2);
    await kill(q, 'x', 'new1', 'new2');
    await q.redis.del(q.keys.task('new1'));
    expect(await q.client.deleteDeadMatching({ from: mid }, null)).toEqual({
      processed: 1,
      done: true,
      cursor: null,
    });
    expect(Object.keys(await q.zset(q.keys.dead))).toEqual(['old']);
    expect(await q.redis.exists(q.keys.task('new2'))).toBe(0);
  });

  it('refuses a bad cursor or filter naming it', async () => {
    const q = suite.queue();
    const error = await q.client
      .retryDeadMatching({ type: '', from: -3 }, 'zzz')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path)).toEqual([
      'filter.type',
      'filter.from',
      'cursor',
    ]);
    await expect(q.run(deadMatchingScript, 'explode', '', '', '', '', 10)).rejects.toThrow(
      /bad action/,
    );
  });
});
