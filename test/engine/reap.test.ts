import { describe, expect, it } from 'vitest';
import { reapScript, renewScript } from '../../shared/scripts/index.js';
import { type EngineQueue, engineSuite, sleep } from './harness.js';

const suite = engineSuite('reap');

/** reap with room for `limit` tasks and an orphan grace of `graceMs`; resolves [requeued, dead]. */
function reap(q: EngineQueue, { limit = 100, graceMs = 60_000 } = {}): Promise<unknown[]> {
  return q.runArray(reapScript, limit, graceMs);
}

/** Makes `host` presumed dead: its heartbeat expired (it crashed, was killed or cut off). */
async function hostGone(q: EngineQueue, host: string): Promise<void> {
  await q.redis.zadd(q.keys.hosts, 1, host);
}

/** Registers `host`, leases it the next task on `token` with a 1 ms lease, and lets it expire. */
async function leaseAndExpire(q: EngineQueue, host: string, token: string): Promise<string> {
  await q.registerHost(host, [token]);
  const { tasks } = await q.claim(host, [token], { leaseMs: 1 });
  await sleep(5);
  return tasks[0]?.id ?? '';
}

const STALLED = 'its worker host stopped (crashed, killed or cut off) while holding it';

describe('reap script', () => {
  it('puts a dead host’s expired task back at the head of its lane, counts a stall, refunds the attempt', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't', priority: 'high' }, { id: 'next', priority: 'high' });
    expect(await leaseAndExpire(q, 'h', 'a')).toBe('t');
    expect((await q.record('t')).attempts).toBe('1');
    await hostGone(q, 'h');
    await q.redis.del(q.keys.signal);
    expect(await reap(q)).toEqual([1, 0]);
    expect(await q.lane('high')).toEqual(['t', 'next']);
    const record = await q.record('t');
    // The run never ended: the attempt its lease charged is given back.
    expect(record).toMatchObject({ state: 'queued', stalls: '1', attempts: '0', claims: '1' });
    // 'host' is cleared, so a late outcome from the old host is refused.
    expect(record.host).toBeUndefined();
    expect(record.startedAt).toBeUndefined();
    expect(await q.zset(q.keys.active)).toEqual({});
    expect(await q.redis.lrange(q.keys.signal, 0, -1)).toEqual(['1']);
    // Tokens are not reap's business: the (dead) host's hash is left as it is.
    expect(await q.tokens('h')).toEqual({ a: 't' });
    // The redelivery is its first attempt, with a new lease id.
    await q.registerHost('h2', ['b']);
    const { tasks } = await q.claim('h2', ['b']);
    expect(tasks.map((t) => t.id)).toEqual(['t']);
    expect(tasks[0]?.fields).toMatchObject({ attempts: '1', claims: '2' });
    expect((await q.record('t')).stalls).toBe('1');
  });

  it('refuses the old host’s late outcome and renew once its task was reaped', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't' });
    await leaseAndExpire(q, 'h', 'a');
    await hostGone(q, 'h');
    expect(await reap(q)).toEqual([1, 0]);
    // The host comes back (its heartbeat registers it again) and reports the run.
    await q.registerHost('h', ['a']);
    expect(await q.runArray(renewScript, 'h', 30_000, 't', '1')).toEqual(['t']);
    const record = await q.record('t');
    const { outcomes } = await q.finish('h', [{ token: 'a', id: 't', lease: '1', kind: 'ok' }], {
      mode: 'free',
    });
    expect(outcomes).toEqual(['lost']);
    expect(await q.record('t')).toEqual(record);
    expect(await q.lane('normal')).toEqual(['t']);
    expect((await q.stats()).succeeded).toBeUndefined();
  });

  it('recovers a lease whose host is gone from the hosts set, or never named', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'unregistered' }, { id: 'nameless' });
    await leaseAndExpire(q, 'h', 'a');
    await q.redis.zrem(q.keys.hosts, 'h');
    await leaseAndExpire(q, 'h2', 'b');
    await q.redis.hdel(q.keys.task('nameless'), 'host');
    expect(await reap(q)).toEqual([2, 0]);
    expect(await q.lane('normal')).toEqual(['unregistered', 'nameless']);
  });

  it('keeps the claim order of several expired tasks at the head of the lane', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['x', 'y']);
    await q.enqueue({ id: 'b1' }, { id: 'a2' }, { id: 'waiting' });
    await q.claim('h', ['x'], { leaseMs: 1 });
    await sleep(3);
    await q.claim('h', ['y'], { leaseMs: 1 });
    await sleep(5);
    await hostGone(q, 'h');
    expect(await reap(q)).toEqual([2, 0]);
    expect(await q.lane('normal')).toEqual(['b1', 'a2', 'waiting']);
  });

  describe('a live host', () => {
    it('keeps its expired leases while they are within the orphan grace', async () => {
      const q = suite.queue();
      await q.enqueue({ id: 't' });
      await leaseAndExpire(q, 'h', 'a');
      const before = await q.snapshot();
      expect(await reap(q, { graceMs: 60_000 })).toEqual([0, 0]);
      expect(await q.snapshot()).toEqual(before);
      // Its next renew brings the lease back in time.
      expect(await q.runArray(renewScript, 'h', 30_000, 't', '1')).toEqual([]);
      expect(await reap(q, { graceMs: 0 })).toEqual([0, 0]);
      expect((await q.record('t')).state).toBe('active');
    });

    it('loses a lease that expired longer ago than the grace (it no longer renews it)', async () => {
      const q = suite.queue();
      await q.enqueue({ id: 't' });
      await leaseAndExpire(q, 'h', 'a');
      await sleep(10);
      expect(await reap(q, { graceMs: 2 })).toEqual([1, 0]);
      expect(await q.record('t')).toMatchObject({ state: 'queued', stalls: '1', attempts: '0' });
      expect((await q.record('t')).host).toBeUndefined();
      expect(await q.lane('normal')).toEqual(['t']);
    });

    it('does not hold back a dead host’s tasks in the same call', async () => {
      const q = suite.queue();
      await q.enqueue({ id: 'live' }, { id: 'dead' });
      await leaseAndExpire(q, 'alive', 'a');
      await leaseAndExpire(q, 'gone', 'b');
      await hostGone(q, 'gone');
      expect(await reap(q)).toEqual([1, 0]);
      expect(await q.lane('normal')).toEqual(['dead']);
      expect(Object.keys(await q.zset(q.keys.active))).toEqual(['live']);
      expect((await q.record('live')).state).toBe('active');
    });
  });

  describe('stalls', () => {
    /** Leases the next task to a fresh host `h<n>`, lets the host die, and reaps: [requeued, dead]. */
    async function stall(q: EngineQueue, n: number): Promise<unknown[]> {
      await leaseAndExpire(q, `h${n}`, 'a');
      await hostGone(q, `h${n}`);
      return reap(q);
    }

    it('are not attempts: a task with one attempt goes back however often it stalls', async () => {
      const q = suite.queue();
      await q.enqueue({ id: 't', maxAttempts: 1, maxStalls: 2 });
      expect(await stall(q, 1)).toEqual([1, 0]);
      expect(await stall(q, 2)).toEqual([1, 0]);
      expect(await q.record('t')).toMatchObject({
        state: 'queued',
        attempts: '0',
        stalls: '2',
        claims: '2',
      });
    });

    it('send a task to dead past maxStalls, with a clear error and its dead TTL', async () => {
      const q = suite.queue();
      await q.enqueue({ id: 't', maxStalls: 1, deadTtlMs: 90_000 });
      expect(await stall(q, 1)).toEqual([1, 0]);
      expect(await stall(q, 2)).toEqual([0, 1]);
      const record = await q.record('t');
      expect(record).toMatchObject({
        state: 'dead',
        stalls: '2',
        attempts: '0',
        claims: '2',
        error: `stalled 2 time(s): ${STALLED}`,
      });
      expect(record.host).toBeUndefined();
      expect(Object.keys(await q.zset(q.keys.dead))).toEqual(['t']);
      const ttl = await q.redis.pttl(q.keys.task('t'));
      expect(ttl).toBeGreaterThan(85_000);
      expect(ttl).toBeLessThanOrEqual(90_000);
      expect(await q.lane('normal')).toEqual([]);
      expect(await q.zset(q.keys.active)).toEqual({});
      expect((await q.stats()).dead).toBe('1');
    });

    it('send a task with maxStalls 0 to dead at its first stall', async () => {
      const q = suite.queue();
      await q.enqueue({ id: 't', maxStalls: 0 });
      expect(await stall(q, 1)).toEqual([0, 1]);
      expect((await q.record('t')).error).toBe(`stalled 1 time(s): ${STALLED}`);
    });

    it('default to 3 allowed for a record without maxStalls', async () => {
      const q = suite.queue();
      await q.enqueue({ id: 't' });
      await q.redis.hdel(q.keys.task('t'), 'maxStalls');
      for (let n = 1; n <= 3; n += 1) expect(await stall(q, n)).toEqual([1, 0]);
      expect(await stall(q, 4)).toEqual([0, 1]);
      expect(await q.record('t')).toMatchObject({ state: 'dead', stalls: '4' });
    });
  });

  it('sends a task with an unknown priority to dead', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't' });
    await leaseAndExpire(q, 'h', 'a');
    await q.redis.hset(q.keys.task('t'), 'priority', 'urgent');
    await hostGone(q, 'h');
    expect(await reap(q)).toEqual([0, 1]);
    expect((await q.record('t')).error).toBe('corrupted record: unknown priority urgent');
  });

  it('leaves leases that have not expired alone, even of a dead host', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b']);
    await q.enqueue({ id: 'live' }, { id: 'gone' });
    await q.claim('h', ['a'], { leaseMs: 60_000 });
    await q.claim('h', ['b'], { leaseMs: 1 });
    await hostGone(q, 'h');
    const live = await q.record('live');
    await sleep(5);
    expect(await reap(q)).toEqual([1, 0]);
    expect(await q.record('live')).toEqual(live);
    expect(Object.keys(await q.zset(q.keys.active))).toEqual(['live']);
  });

  it('recovers at most the given number of tasks per call', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b', 'c']);
    await q.enqueue({ id: 't1' }, { id: 't2' }, { id: 't3' });
    await q.claim('h', ['a', 'b', 'c'], { leaseMs: 1 });
    await hostGone(q, 'h');
    await sleep(5);
    expect(await reap(q, { limit: 2 })).toEqual([2, 0]);
    expect(Object.keys(await q.zset(q.keys.active))).toHaveLength(1);
    expect(await reap(q, { limit: 2 })).toEqual([1, 0]);
  });

  it('drops stale entries and sets aside a key that is not a hash', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'done' });
    await q.redis.hset(q.keys.task('done'), 'state', 'succeeded');
    await q.redis.set(q.keys.task('bad'), 'junk');
    await q.redis.zadd(q.keys.active, 1, 'done', 2, 'bad', 3, 'missing');
    await q.redis.del(q.keys.laneNormal);
    expect(await reap(q)).toEqual([0, 1]);
    expect(await q.zset(q.keys.active)).toEqual({});
    expect((await q.record('done')).state).toBe('succeeded');
    expect(await q.redis.get(`${q.keys.prefix}corrupt:bad`)).toBe('junk');
    expect((await q.record('bad')).state).toBe('dead');
    expect(await q.lane('normal')).toEqual([]);
  });
});
