import { describe, expect, it } from 'vitest';
import { retryDeadScript } from '../../shared/scripts/index.js';
import { type EngineQueue, engineSuite, sleep } from './harness.js';

const suite = engineSuite('retry-dead');

/** Enqueues `id` and kills it through claim and a 'fatal' finish. */
async function killed(q: EngineQueue, id: string, priority = 'normal'): Promise<void> {
  await q.registerHost('h', ['a']);
  await q.enqueue({ id, priority, maxAttempts: 5 });
  const { tasks } = await q.claim('h', ['a']);
  const lease = tasks[0]?.fields.claims ?? '';
  const { outcomes } = await q.finish(
    'h',
    [{ token: 'a', id, lease, kind: 'fatal', text: `${id} broke` }],
    { mode: 'free' },
  );
  expect(outcomes).toEqual(['dead']);
  expect((await q.record(id)).state).toBe('dead');
  await sleep(2);
}

describe('retry-dead script', () => {
  it('requeues dead tasks by id with fresh attempts and no TTL', async () => {
    const q = suite.queue();
    await killed(q, 'd1', 'high');
    await killed(q, 'd2');
    await q.enqueue({ id: 'alive' });
    expect(await q.redis.pttl(q.keys.task('d1'))).toBeGreaterThan(0);
    await q.redis.del(q.keys.signal);

    expect(await q.runArray(retryDeadScript, 'ids', 0, '', 'd1', 'alive', 'missing')).toEqual([
      1,
      'alive',
      'missing',
    ]);
    const record = await q.record('d1');
    expect(record).toMatchObject({ state: 'queued', attempts: '0', stalls: '0', claims: '1' });
    for (const gone of ['finishedAt', 'runAt', 'startedAt']) {
      expect(record[gone]).toBeUndefined();
    }
    expect(await q.redis.pttl(q.keys.task('d1'))).toBe(-1);
    expect(await q.lane('high')).toEqual(['d1']);
    expect(Object.keys(await q.zset(q.keys.dead))).toEqual(['d2']);
    expect((await q.record('alive')).state).toBe('queued');
    expect(await q.lane('normal')).toEqual(['alive']);
    expect(await q.redis.lrange(q.keys.signal, 0, -1)).toEqual(['1']);
    // The retried task runs again from attempt 1.
    const { tasks } = await q.claim('h', ['a']);
    expect(tasks.map((t) => t.id)).toEqual(['d1']);
    expect(tasks[0]?.fields).toMatchObject({ attempts: '1', claims: '2' });
  });

  it('retries the oldest dead tasks first in "oldest" mode', async () => {
    const q = suite.queue();
    await killed(q, 'old');
    await killed(q, 'mid');
    await killed(q, 'new');
    expect(await q.runArray(retryDeadScript, 'oldest', 2)).toEqual([2]);
    expect(await q.lane('normal')).toEqual(['old', 'mid']);
    expect(Object.keys(await q.zset(q.keys.dead))).toEqual(['new']);
    expect(await q.runArray(retryDeadScript, 'oldest', 0)).toEqual([0]);
    expect(Object.keys(await q.zset(q.keys.dead))).toEqual(['new']);
  });

  it('drops a dead-set entry whose record expired and names it', async () => {
    const q = suite.queue();
    await killed(q, 'd');
    await q.redis.del(q.keys.task('d'));
    expect(await q.runArray(retryDeadScript, 'oldest', 10)).toEqual([0, 'd']);
    expect(await q.zset(q.keys.dead)).toEqual({});
  });

  it('answers a re-sent call (same call id) as the first, retrying nothing twice', async () => {
    const q = suite.queue();
    await killed(q, 'r1');
    await killed(q, 'r2');
    await q.enqueue({ id: 'other' });
    const first = await q.runArray(retryDeadScript, 'ids', 0, 'call-1', 'r1', 'r2', 'other');
    expect(first).toEqual([2, 'other']);
    // The reply was lost; the client sends the same call again: the same answer, no change.
    expect(await q.runArray(retryDeadScript, 'ids', 0, 'call-1', 'r1', 'r2', 'other')).toEqual(
      first,
    );
    expect(await q.lane('normal')).toEqual(['other', 'r1', 'r2']);
    // r1 runs and dies again before the re-send arrives: the re-send still does not revive it,
    await q.redis.lrem(q.keys.laneNormal, 0, 'r1');
    await q.redis.hset(q.keys.task('r1'), 'state', 'dead');
    await q.redis.zadd(q.keys.dead, Date.now(), 'r1');
    expect(await q.runArray(retryDeadScript, 'ids', 0, 'call-1', 'r1')).toEqual([1]);
    expect((await q.record('r1')).state).toBe('dead');
    expect(Object.keys(await q.zset(q.keys.dead))).toEqual(['r1']);
    // but a new call (another id) does.
    expect(await q.runArray(retryDeadScript, 'ids', 0, 'call-2', 'r1')).toEqual([1]);
    expect((await q.record('r1')).state).toBe('queued');
    expect(await q.zset(q.keys.dead)).toEqual({});
  });

  it('is reached through QueueClient.retryDead and retryAllDead', async () => {
    const q = suite.queue();
    for (const id of ['a', 'b', 'c', 'd', 'e']) await killed(q, id);
    expect(await q.client.retryDead(['a', 'zzz'])).toEqual({ retried: 1, notDead: ['zzz'] });
    expect(await q.client.retryAllDead(2)).toBe(4);
    expect(await q.zset(q.keys.dead)).toEqual({});
    expect(await q.lane('normal')).toEqual(['a', 'b', 'c', 'd', 'e']);
    await expect(q.client.retryAllDead(0)).rejects.toThrow(RangeError);
  });
});
