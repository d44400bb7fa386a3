import { describe, expect, it } from 'vitest';
import { cancelScript } from '../../shared/scripts/index.js';
import { type EngineQueue, engineSuite } from './harness.js';

const suite = engineSuite('cancel');

async function expectCanceled(q: EngineQueue, id: string, ttlMs: number): Promise<void> {
  const record = await q.record(id);
  expect(record.state).toBe('canceled');
  expect(record.runAt).toBeUndefined();
  expect(Number(record.finishedAt)).toBeGreaterThan(0);
  const ttl = await q.redis.pttl(q.keys.task(id));
  expect(ttl).toBeGreaterThan(ttlMs - 5000);
  expect(ttl).toBeLessThanOrEqual(ttlMs);
}

describe('cancel script', () => {
  it('cancels a queued task and takes it out of its lane', async () => {
    const q = suite.queue();
    await q.enqueue(
      { id: 'a', priority: 'low' },
      { id: 't', priority: 'low', resultTtlMs: 50_000 },
      { id: 'b', priority: 'low' },
    );
    await q.registerHost('h', ['x', 'y', 'z']);
    expect(await q.runArray(cancelScript, 't')).toEqual([1, 'canceled']);
    expect(await q.lane('low')).toEqual(['a', 'b']);
    await expectCanceled(q, 't', 50_000);
    expect((await q.stats()).canceled).toBe('1');
    expect((await q.claim('h', ['x', 'y', 'z'])).tasks.map((t) => t.id)).toEqual(['a', 'b']);
  });

  it('cancels a delayed task and takes it out of the delayed set', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't', delayMs: 60_000 }, { id: 'other', delayMs: 60_000 });
    expect(await q.client.cancel('t')).toEqual({ outcome: 'canceled' });
    expect(Object.keys(await q.zset(q.keys.delayed))).toEqual(['other']);
    await expectCanceled(q, 't', 604_800_000);
  });

  it('cancels a failed task waiting for its retry', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    await q.enqueue({ id: 't', backoffMs: 120_000 });
    const [t] = (await q.claim('h', ['a'])).tasks;
    const { outcomes } = await q.finish(
      'h',
      [{ token: 'a', id: 't', lease: t?.fields.claims ?? '', kind: 'fail' }],
      { mode: 'free' },
    );
    expect(outcomes).toEqual(['failed']);
    expect(await q.runArray(cancelScript, 't')).toEqual([1, 'canceled']);
    expect(await q.zset(q.keys.delayed)).toEqual({});
    await expectCanceled(q, 't', 604_800_000);
  });

  it('refuses a running or finished task and says its state', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    await q.enqueue({ id: 'run' }, { id: 'done' });
    await q.claim('h', ['a']);
    await q.redis.hset(q.keys.task('done'), 'state', 'succeeded');
    const record = await q.record('run');
    expect(await q.runArray(cancelScript, 'run')).toEqual([0, 'active']);
    expect(await q.record('run')).toEqual(record);
    expect(Object.keys(await q.zset(q.keys.active))).toEqual(['run']);
    expect(await q.client.cancel('done')).toEqual({ outcome: 'conflict', state: 'succeeded' });
    expect(await q.runArray(cancelScript, 'run')).toEqual([0, 'active']);
    expect((await q.stats()).canceled).toBeUndefined();
  });

  it('answers -1 for an unknown task or a key that is not a hash', async () => {
    const q = suite.queue();
    expect(await q.runArray(cancelScript, 'missing')).toEqual([-1, '']);
    expect(await q.client.cancel('missing')).toEqual({ outcome: 'not_found' });
    await q.redis.set(q.keys.task('bad'), 'junk');
    expect(await q.runArray(cancelScript, 'bad')).toEqual([-1, '']);
    expect(await q.redis.get(q.keys.task('bad'))).toBe('junk');
  });

  it('answers a cancel of a canceled task as the first one, and writes nothing (a replay)', async () => {
    // @upstash/redis and ioredis re-send a call whose reply was lost: the second execution must
    // answer what the first did, or the caller sees 409 for its own successful cancel.
    const q = suite.queue();
    await q.enqueue({ id: 't', delayMs: 60_000 }, { id: 'u' });
    expect(await q.runArray(cancelScript, 't')).toEqual([1, 'canceled']);
    const before = await q.snapshot();
    const ttl = await q.redis.pttl(q.keys.task('t'));
    expect(await q.runArray(cancelScript, 't')).toEqual([1, 'canceled']);
    expect(await q.client.cancel('t')).toEqual({ outcome: 'canceled' });
    expect(await q.snapshot()).toEqual(before);
    // Neither the record's TTL nor the total moved.
    expect(await q.redis.pttl(q.keys.task('t'))).toBeLessThanOrEqual(ttl);
    expect((await q.stats()).canceled).toBe('1');
    expect((await q.record('u')).state).toBe('queued');
  });
});
