import { describe, expect, it } from 'vitest';
import { cancelScript, reapScript, unregisterHostScript } from '../../shared/scripts/index.js';
import {
  type Claimed,
  type EngineQueue,
  engineSuite,
  type RunEndInit,
  sleep,
  type TaskInit,
} from './harness.js';

const suite = engineSuite('finish');

/** The outcomes the finish script may report for a run (see its header). */

/** The run of leased task `t`, ended as `kind`. */
function end(t: Claimed | undefined, kind: RunEndInit['kind'], text?: string): RunEndInit {
  if (!t) throw new Error('no task was leased');
  return { token: t.token, id: t.id, lease: t.fields.claims ?? '', kind, text };
}

/** Registers host 'h' with `tokens` (unless it is), enqueues `task` and leases it on `token`. */
async function leased(q: EngineQueue, task: TaskInit, token = 'a'): Promise<Claimed> {
  if ((await q.redis.zscore(q.keys.hosts, 'h')) === null) await q.registerHost('h', [token]);
  await q.enqueue(task);
  const { tasks } = await q.claim('h', [token]);
  if (tasks[0]?.id !== task.id) throw new Error(`could not lease ${task.id}`);
  return tasks[0];
}

/** Leases failed task `id` again on `token`, as promote and claim do once its retry is due. */
async function leaseRetry(q: EngineQueue, id: string, token = 'a'): Promise<Claimed> {
  await q.redis.zadd(q.keys.delayed, 0, id);
  const { tasks } = await q.claim('h', [token]);
  if (tasks[0]?.id !== id) throw new Error(`could not lease ${id} again`);
  return tasks[0];
}

/** The fields a claim returns for task `id`, read from its record as it is now. */
async function claimFields(q: EngineQueue, id: string): Promise<Record<string, string>> {
  const { type, payload, priority, attempts, maxAttempts, timeoutMs, claims } = await q.record(id);
  return { type, payload, priority, attempts, maxAttempts, timeoutMs, claims } as Record<
    string,
    string
  >;
}

describe('finish script', () => {
  describe("kind 'ok'", () => {
    it('stores the result with its TTL, ends the lease and counts a success', async () => {
      const q = suite.queue();
      const t = await leased(q, { id: 't', resultTtlMs: 60_000 });
      const before = await q.now();
      const reply = await q.finish('h', [end(t, 'ok', '81')], { mode: 'free' });
      const after = await q.now();
      expect(reply).toEqual({ outcomes: ['succeeded'], leased: [] });

      const record = await q.record('t');
      expect(record).toMatchObject({ state: 'succeeded', result: '81', attempts: '1' });
      // The host that ran it stays on the record (it is how a re-sent call knows its runs).
      expect(record.host).toBe('h');
      expect(Number(record.finishedAt)).toBeGreaterThanOrEqual(before);
      expect(Number(record.finishedAt)).toBeLessThanOrEqual(after);
      const ttl = await q.redis.pttl(q.keys.task('t'));
      expect(ttl).toBeGreaterThan(55_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      expect(await q.zset(q.keys.active)).toEqual({});
      expect((await q.stats()).succeeded).toBe('1');
      expect(await q.tokens('h')).toEqual({ a: '' });
    });

    it('keeps the default result TTL for a record without resultTtlMs', async () => {
      const q = suite.queue();
      const t = await leased(q, { id: 't' });
      await q.redis.hdel(q.keys.task('t'), 'resultTtlMs');
      await q.finish('h', [end(t, 'ok')]);
      expect(await q.redis.pttl(q.keys.task('t'))).toBeGreaterThan(7 * 86_400_000 - 10_000);
    });

    it('drops the error of an earlier failed attempt', async () => {
      const q = suite.queue();
      const t = await leased(q, { id: 't' });
      expect((await q.finish('h', [end(t, 'fail', 'attempt 1 failed')])).outcomes).toEqual([
        'failed',
      ]);
      const again = await leaseRetry(q, 't');
      expect((await q.finish('h', [end(again, 'ok')])).outcomes).toEqual(['succeeded']);
      const record = await q.record('t');
      expect(record).toMatchObject({ state: 'succeeded', attempts: '2' });
      expect(record.error).toBeUndefined();
    });
  });

  describe("kind 'fail'", () => {
    it('schedules a retry between backoff/2 and backoff, placed by the jitter', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a', 'b']);
      await q.enqueue(
        { id: 't0', backoffMs: 10_000, maxAttempts: 3 },
        { id: 't1', backoffMs: 10_000, maxAttempts: 3 },
      );
      const tasks = (await q.claim('h', ['a', 'b'])).tasks;
      await q.redis.del(q.keys.signal);
      for (const [i, jitter] of [0, 0.999].entries()) {
        const reply = await q.finish('h', [end(tasks[i], 'fail', `jitter ${jitter}`)], {
          mode: 'free',
          jitter,
        });
        expect(reply).toEqual({ outcomes: ['failed'], leased: [] });
        const id = `t${i}`;
        const record = await q.record(id);
        expect(record).toMatchObject({ state: 'failed', error: `jitter ${jitter}`, host: 'h' });
        // finishedAt is the script's clock: the wait is exact.
        const wait = Number(record.runAt) - Number(record.finishedAt);
        expect(wait).toBe(Math.floor(5_000 + jitter * 5_000));
        expect(wait).toBeGreaterThanOrEqual(5_000);
        expect(wait).toBeLessThanOrEqual(10_000);
        expect((await q.zset(q.keys.delayed))[id]).toBe(Number(record.runAt));
        expect(await q.redis.pttl(q.keys.task(id))).toBe(-1);
      }
      expect(await q.zset(q.keys.active)).toEqual({});
      expect((await q.stats()).failed).toBe('2');
      expect((await q.stats()).dead).toBeUndefined();
      // A blocked host wakes up to recompute its wait for the earliest retry.
      expect(await q.redis.lrange(q.keys.signal, 0, -1)).toEqual(['1']);
    });

    it('spreads the retries of runs failed in one call, each within its bounds', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a', 'b', 'c']);
      await q.enqueue(
        { id: 't1', backoffMs: 10_000 },
        { id: 't2', backoffMs: 10_000 },
        { id: 't3', backoffMs: 10_000 },
      );
      const { tasks } = await q.claim('h', ['a', 'b', 'c']);
      const reply = await q.finish(
        'h',
        tasks.map((t) => end(t, 'fail')),
        { jitter: 0.9 },
      );
      expect(reply.outcomes).toEqual(['failed', 'failed', 'failed']);
      const waits: number[] = [];
      for (const id of ['t1', 't2', 't3']) {
        const record = await q.record(id);
        waits.push(Number(record.runAt) - Number(record.finishedAt));
      }
      for (const wait of waits) {
        expect(wait).toBeGreaterThanOrEqual(5_000);
        expect(wait).toBeLessThanOrEqual(10_000);
      }
      expect(new Set(waits).size).toBe(3);
    });

    it('doubles the backoff on each attempt, up to backoffMaxMs', async () => {
      const q = suite.queue();
      let t = await leased(q, { id: 't', backoffMs: 1000, backoffMaxMs: 5000, maxAttempts: 10 });
      const waits: number[] = [];
      for (let attempt = 1; attempt <= 5; attempt += 1) {
        if (attempt > 1) t = await leaseRetry(q, 't');
        expect(t.fields.attempts).toBe(String(attempt));
        // No jitter: the wait is half the (capped) backoff.
        expect((await q.finish('h', [end(t, 'fail')], { jitter: 0 })).outcomes).toEqual(['failed']);
        const record = await q.record('t');
        waits.push(Number(record.runAt) - Number(record.finishedAt));
      }
      expect(waits).toEqual([500, 1000, 2000, 2500, 2500]);
    });

    it('sends the task to dead when its attempts are spent', async () => {
      const q = suite.queue();
      const t = await leased(q, { id: 't', maxAttempts: 2, deadTtlMs: 120_000 });
      expect((await q.finish('h', [end(t, 'fail')])).outcomes).toEqual(['failed']);
      const again = await leaseRetry(q, 't');
      const before = await q.now();
      const reply = await q.finish('h', [end(again, 'fail', 'still broken')], { mode: 'free' });
      expect(reply).toEqual({ outcomes: ['dead'], leased: [] });
      const record = await q.record('t');
      expect(record).toMatchObject({
        state: 'dead',
        error: 'still broken',
        attempts: '2',
        host: 'h',
      });
      expect(record.runAt).toBeUndefined();
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
      const t = await leased(q, { id: 't', maxAttempts: 1, deadTtlMs: 1_000 });
      expect((await q.finish('h', [end(t, 'fail')])).outcomes).toEqual(['dead']);
      expect(Object.keys(await q.zset(q.keys.dead)).sort()).toEqual(['kept', 't']);
    });
  });

  describe("kind 'fatal'", () => {
    it('sends the task to dead at once, attempts left or not', async () => {
      const q = suite.queue();
      const t = await leased(q, { id: 't', maxAttempts: 5, deadTtlMs: 90_000 });
      const reply = await q.finish('h', [end(t, 'fatal', 'bad payload')], { mode: 'free' });
      expect(reply).toEqual({ outcomes: ['dead'], leased: [] });
      expect(await q.record('t')).toMatchObject({
        state: 'dead',
        error: 'bad payload',
        attempts: '1',
      });
      const ttl = await q.redis.pttl(q.keys.task('t'));
      expect(ttl).toBeGreaterThan(85_000);
      expect(ttl).toBeLessThanOrEqual(90_000);
      expect(Object.keys(await q.zset(q.keys.dead))).toEqual(['t']);
      expect(await q.zset(q.keys.active)).toEqual({});
      expect(await q.zset(q.keys.delayed)).toEqual({});
      expect(await q.stats()).toMatchObject({ dead: '1' });
      expect((await q.stats()).failed).toBeUndefined();
    });

    it('ends a corrupt record (a hash with bad fields) dead, with the default dead TTL', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a']);
      await q.enqueue({ id: 't' });
      await q.redis.hset(
        q.keys.task('t'),
        ...['attempts', 'abc', 'maxAttempts', '-', 'priority', 'urgent', 'deadTtlMs', 'x'],
      );
      const [t] = (await q.claim('h', ['a'])).tasks;
      expect(t?.fields).toMatchObject({ attempts: 'abc', claims: '1' });
      const error = 'CorruptRecordError: attempts is not a count';
      expect((await q.finish('h', [end(t, 'fatal', error)], { mode: 'free' })).outcomes).toEqual([
        'dead',
      ]);
      expect(await q.record('t')).toMatchObject({ state: 'dead', error });
      expect(await q.redis.pttl(q.keys.task('t'))).toBeGreaterThan(30 * 86_400_000 - 10_000);
      expect(Object.keys(await q.zset(q.keys.dead))).toEqual(['t']);
      expect(await q.zset(q.keys.active)).toEqual({});
      expect(await q.tokens('h')).toEqual({ a: '' });
    });
  });

  describe("kind 'release'", () => {
    it('puts tasks back at the head of their lanes in call order, attempts refunded', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a', 'b', 'c']);
      await q.enqueue({ id: 't1' }, { id: 't2' }, { id: 't3' }, { id: 'h1', priority: 'high' });
      const { tasks } = await q.claim('h', ['a', 'b', 'c']);
      expect(tasks.map((t) => t.id)).toEqual(['h1', 't1', 't2']);
      await q.redis.del(q.keys.signal);

      const [h1, t1, t2] = tasks;
      const reply = await q.finish(
        'h',
        [end(t1, 'release'), end(t2, 'release'), end(h1, 'release')],
        { mode: 'free' },
      );
      expect(reply).toEqual({ outcomes: ['released', 'released', 'released'], leased: [] });
      expect(await q.lane('normal')).toEqual(['t1', 't2', 't3']);
      expect(await q.lane('high')).toEqual(['h1']);
      const record = await q.record('t1');
      expect(record).toMatchObject({ state: 'queued', attempts: '0', claims: '1', stalls: '0' });
      expect(record.host).toBeUndefined();
      expect(record.startedAt).toBeUndefined();
      expect(await q.zset(q.keys.active)).toEqual({});
      expect(await q.tokens('h')).toEqual({ a: '', b: '', c: '' });
      expect(await q.redis.lrange(q.keys.signal, 0, -1)).toEqual(['1']);
      expect(await q.stats()).toEqual({ enqueued: '4' });
      // The next lease is the same attempt again, with a fresh lease id.
      const again = await q.claim('h', ['a']);
      expect(again.tasks.map((t) => t.id)).toEqual(['h1']);
      expect(again.tasks[0]?.fields).toMatchObject({ attempts: '1', claims: '2' });
    });
  });

  describe('a run whose lease is not this host’s', () => {
    it.each([
      ['a wrong lease', { lease: '2', host: 'h' }],
      ['another host', { lease: '1', host: 'other' }],
    ])("with %s is 'lost' and nothing of the task is written", async (_what, { lease, host }) => {
      const q = suite.queue();
      await q.registerHost('other', ['a']);
      await leased(q, { id: 't' });
      await q.enqueue({ id: 'waiting' });
      const record = await q.record('t');
      const active = await q.zset(q.keys.active);
      for (const kind of ['ok', 'fail', 'fatal', 'release'] as const) {
        const reply = await q.finish(host, [{ token: 'a', id: 't', lease, kind }], {
          mode: 'free',
        });
        expect(reply).toEqual({ outcomes: ['lost'], leased: [] });
      }
      expect(await q.record('t')).toEqual(record);
      expect(await q.redis.pttl(q.keys.task('t'))).toBe(-1);
      expect(await q.zset(q.keys.active)).toEqual(active);
      expect(await q.zset(q.keys.dead)).toEqual({});
      expect(await q.zset(q.keys.delayed)).toEqual({});
      expect(await q.lane('normal')).toEqual(['waiting']);
      expect(await q.stats()).toEqual({ enqueued: '2' });
    });

    it("is 'lost' for a task that is not active, gone, or not a hash", async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a']);
      await q.enqueue({ id: 'queued' });
      await q.redis.set(q.keys.task('junk'), 'not a hash');
      const before = await q.snapshot();
      const reply = await q.finish(
        'h',
        [
          { token: 'a', id: 'queued', lease: '0', kind: 'ok' },
          { token: 'a', id: 'missing', lease: '1', kind: 'fatal' },
          { token: 'a', id: 'junk', lease: '1', kind: 'fail' },
        ],
        { mode: 'free' },
      );
      expect(reply).toEqual({ outcomes: ['lost', 'lost', 'lost'], leased: [] });
      expect(await q.snapshot()).toEqual(before);
    });

    it("still gets its token a new task in 'lease' mode", async () => {
      const q = suite.queue();
      await leased(q, { id: 't' });
      await q.enqueue({ id: 'next' });
      const reply = await q.finish('h', [{ token: 'a', id: 't', lease: '9', kind: 'ok' }]);
      expect(reply.outcomes).toEqual(['lost']);
      expect(reply.leased.map((t) => [t.token, t.id])).toEqual([['a', 'next']]);
      expect((await q.record('t')).state).toBe('active');
    });
  });

  describe("'lease' mode", () => {
    it('leases the next task to each token in strict priority order, as claim returns them', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a', 'b', 'c', 'd', 'e']);
      const first = await leased(q, { id: 'first', priority: 'high' });
      await q.enqueue({ id: 'l1', priority: 'low' }, { id: 'n1' }, { id: 'h1', priority: 'high' });
      await q.enqueue({ id: 'n2' }, { id: 'h2', priority: 'high' });
      const before = await q.now();
      const reply = await q.finish('h', [end(first, 'ok')], {
        leaseMs: 10_000,
        moreTokens: ['b', 'c', 'd', 'e'],
      });
      expect(reply.outcomes).toEqual(['succeeded']);
      expect(reply.leased.map((t) => [t.token, t.id])).toEqual([
        ['a', 'h1'],
        ['b', 'h2'],
        ['c', 'n1'],
        ['d', 'n2'],
        ['e', 'l1'],
      ]);
      expect(await q.tokens('h')).toEqual({ a: 'h1', b: 'h2', c: 'n1', d: 'n2', e: 'l1' });
      for (const t of reply.leased) {
        expect(t.fields).toEqual(await claimFields(q, t.id));
        expect(t.fields).toMatchObject({ attempts: '1', claims: '1' });
        expect(await q.record(t.id)).toMatchObject({ state: 'active', host: 'h' });
      }
      const startedAt = Number((await q.record('h1')).startedAt);
      expect(startedAt).toBeGreaterThanOrEqual(before);
      const active = await q.zset(q.keys.active);
      expect(Object.keys(active).sort()).toEqual(['h1', 'h2', 'l1', 'n1', 'n2']);
      expect(active.h1).toBe(startedAt + 10_000);
      for (const lane of ['high', 'normal', 'low'] as const) expect(await q.lane(lane)).toEqual([]);
    });

    it('follows the lane order it is given, and skips a lane left out of it', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a', 'b', 'c']);
      const first = await leased(q, { id: 'first' });
      await q.enqueue({ id: 'h1', priority: 'high' }, { id: 'n1' }, { id: 'l1', priority: 'low' });
      const reply = await q.finish('h', [end(first, 'ok')], {
        order: 'lnh',
        moreTokens: ['b', 'c'],
      });
      expect(reply.leased.map((t) => [t.token, t.id])).toEqual([
        ['a', 'l1'],
        ['b', 'n1'],
        ['c', 'h1'],
      ]);
      await q.enqueue({ id: 'h2', priority: 'high' }, { id: 'n2' });
      const [, n1] = reply.leased;
      const next = await q.finish('h', [end(n1, 'ok')], { order: 'n' });
      expect(next.leased.map((t) => [t.token, t.id])).toEqual([['b', 'n2']]);
      expect(await q.lane('high')).toEqual(['h2']);
    });

    it('stops popping once the lanes are empty and frees the tokens that got nothing', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a', 'b', 'c']);
      const t1 = await leased(q, { id: 't1' });
      await q.enqueue({ id: 't2' });
      // 'c' still names a task that has ended.
      await q.redis.hset(q.keys.tokens('h'), 'c', 'ended-long-ago');
      const reply = await q.finish('h', [end(t1, 'ok')], { moreTokens: ['b', 'c'] });
      expect(reply.leased.map((t) => [t.token, t.id])).toEqual([['a', 't2']]);
      expect(await q.tokens('h')).toEqual({ a: 't2', b: '', c: '' });
      // Nothing left: the run's own token is freed too.
      const done = await q.finish('h', [end(reply.leased[0], 'ok')]);
      expect(done).toEqual({ outcomes: ['succeeded'], leased: [] });
      expect(await q.tokens('h')).toEqual({ a: '', b: '', c: '' });
    });

    it("with promote '1' moves a due delayed task into its lane before leasing", async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a']);
      const now = await leased(q, { id: 'now' });
      await q.enqueue({ id: 'queued' }, { id: 'later', priority: 'high', delayMs: 30 });
      await sleep(60);
      // Without promote, the due task waits in the delayed set.
      const plain = await q.finish('h', [end(now, 'ok')], { promote: false });
      expect(plain.leased.map((t) => t.id)).toEqual(['queued']);
      expect(Object.keys(await q.zset(q.keys.delayed))).toEqual(['later']);
      const promoted = await q.finish('h', [end(plain.leased[0], 'ok')], { promote: true });
      expect(promoted.leased.map((t) => t.id)).toEqual(['later']);
      expect(await q.zset(q.keys.delayed)).toEqual({});
      expect((await q.record('later')).runAt).toBeUndefined();
    });
  });

  describe('sent again after a lost reply', () => {
    it('returns the same outcomes and leased tasks, counts once and leases nothing more', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a', 'b', 'c', 'd']);
      await q.enqueue({ id: 't1' }, { id: 't2' }, { id: 't3' });
      const [t1, t2, t3] = (await q.claim('h', ['a', 'b', 'c'])).tasks;
      await q.enqueue({ id: 'n1' }, { id: 'n2' }, { id: 'n3' }, { id: 'n4' });
      const runs = [end(t1, 'ok', '1'), end(t2, 'fail', 'boom'), end(t3, 'fatal', 'bad')];
      const first = await q.finish('h', runs, { moreTokens: ['d'] });
      expect(first.outcomes).toEqual(['succeeded', 'failed', 'dead']);
      expect(first.leased.map((t) => [t.token, t.id])).toEqual([
        ['a', 'n1'],
        ['b', 'n2'],
        ['c', 'n3'],
        ['d', 'n4'],
      ]);
      await q.enqueue({ id: 'n5' });
      const before = await q.snapshot();

      const again = await q.finish('h', runs, { moreTokens: ['d'] });
      expect(again).toEqual(first);
      // Nothing was written: no second lease, no second count.
      expect(await q.snapshot()).toEqual(before);
      expect(await q.lane('normal')).toEqual(['n5']);
      expect(await q.stats()).toMatchObject({ succeeded: '1', failed: '1', dead: '1' });
      expect(await q.tokens('h')).toEqual({ a: 'n1', b: 'n2', c: 'n3', d: 'n4' });
      expect(await q.record('n1')).toMatchObject({ attempts: '1', claims: '1' });
    });

    it("in 'free' mode reports the same outcomes and changes nothing", async () => {
      const q = suite.queue();
      const t = await leased(q, { id: 't' });
      const runs = [end(t, 'ok')];
      expect((await q.finish('h', runs, { mode: 'free' })).outcomes).toEqual(['succeeded']);
      const before = await q.snapshot();
      expect(await q.finish('h', runs, { mode: 'free' })).toEqual({
        outcomes: ['succeeded'],
        leased: [],
      });
      expect(await q.snapshot()).toEqual(before);
      expect((await q.stats()).succeeded).toBe('1');
    });

    it("reports a release 'released' again, and gives nothing back twice", async () => {
      const q = suite.queue();
      const t = await leased(q, { id: 't' });
      await q.enqueue({ id: 'waiting' });
      const runs = [end(t, 'release')];
      expect((await q.finish('h', runs, { mode: 'free' })).outcomes).toEqual(['released']);
      const before = await q.snapshot();
      // The record names no host after a release: its 'releasedBy' mark tells the re-send.
      expect((await q.finish('h', runs, { mode: 'free' })).outcomes).toEqual(['released']);
      expect(await q.snapshot()).toEqual(before);
      expect(await q.lane('normal')).toEqual(['t', 'waiting']);
      expect(await q.record('t')).toMatchObject({
        attempts: '0',
        releasedBy: `h:${t.fields.claims}`,
      });
      // Leased again (a new lease), the old release still answers as it did; another host's
      // or another lease's release of it is 'lost'.
      const [again] = (await q.claim('h', ['a'])).tasks;
      expect(again?.id).toBe('t');
      expect((await q.finish('h', runs, { mode: 'free' })).outcomes).toEqual(['released']);
      expect((await q.finish('other', runs, { mode: 'free' })).outcomes).toEqual(['lost']);
      expect((await q.record('t')).state).toBe('active');
    });

    it('reports a failed run as failed after its retry was promoted', async () => {
      // Promote keeps 'host' and 'claims', so the record still shows the run this host ended.
      const q = suite.queue();
      const t = await leased(q, { id: 't', backoffMs: 0 });
      const runs = [end(t, 'fail')];
      expect((await q.finish('h', runs, { mode: 'free' })).outcomes).toEqual(['failed']);
      // Any claim promotes the due retry (backoff 0 here; 500 ms by default).
      await q.claim('h', []);
      expect((await q.record('t')).state).toBe('queued');
      expect((await q.finish('h', runs, { mode: 'free' })).outcomes).toEqual(['failed']);
    });

    it('reports a failed run as failed after its retry was canceled', async () => {
      // As above, with the state 'canceled' (cancel keeps 'host' and 'claims').
      const q = suite.queue();
      const t = await leased(q, { id: 't' });
      const runs = [end(t, 'fail')];
      expect((await q.finish('h', runs, { mode: 'free' })).outcomes).toEqual(['failed']);
      expect(await q.runArray(cancelScript, 't')).toEqual([1, 'canceled']);
      expect((await q.finish('h', runs, { mode: 'free' })).outcomes).toEqual(['failed']);
    });
  });

  describe("'free' mode", () => {
    it('frees every listed token and gives back a task of this host that no run names', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a', 'b', 'c', 'd', 'e']);
      await q.registerHost('other', ['x']);
      await q.enqueue({ id: 'theirs' });
      await q.claim('other', ['x']);
      await q.enqueue({ id: 't1' }, { id: 't2' }, { id: 't3' }, { id: 'waiting' });
      const [t1, t2, t3] = (await q.claim('h', ['a', 'b', 'c'])).tasks;
      expect([t1?.id, t2?.id, t3?.id]).toEqual(['t1', 't2', 't3']);
      // 'd' names another host's task, 'e' a task that is gone.
      await q.redis.hset(q.keys.tokens('h'), 'd', 'theirs', 'e', 'gone');
      const theirs = await q.record('theirs');
      await q.redis.del(q.keys.signal);

      // The child reported t1 and t3; it held t2 on 'b' without reporting it.
      const reply = await q.finish('h', [end(t1, 'ok'), end(t3, 'release')], {
        mode: 'free',
        moreTokens: ['b', 'd', 'e'],
      });
      expect(reply).toEqual({ outcomes: ['succeeded', 'released'], leased: [] });
      expect(await q.tokens('h')).toEqual({ a: '', b: '', c: '', d: '', e: '' });
      // The runs' releases first, then the sweep's, each at the head of the lane.
      expect(await q.lane('normal')).toEqual(['t3', 't2', 'waiting']);
      const t2Record = await q.record('t2');
      expect(t2Record).toMatchObject({ state: 'queued', attempts: '0', claims: '1' });
      expect(t2Record.host).toBeUndefined();
      expect(t2Record.startedAt).toBeUndefined();
      expect(Object.keys(await q.zset(q.keys.active))).toEqual(['theirs']);
      expect(await q.record('theirs')).toEqual(theirs);
      expect(await q.redis.lrange(q.keys.signal, 0, -1)).toEqual(['1']);
      expect((await q.stats()).succeeded).toBe('1');
    });

    it('does not give back a task that a stale token names but another token now runs', async () => {
      // As in claim.test.ts: after a live host's orphaned lease was reaped and leased to it again
      // on another token, the stale token still names the task with its old lease, so the sweep
      // leaves the running task alone.
      const q = suite.queue();
      await q.registerHost('h', ['x', 'y']);
      await q.enqueue({ id: 't' });
      await q.claim('h', ['x'], { leaseMs: 1 });
      await sleep(5);
      expect(await q.runArray(reapScript, 100, 0)).toEqual([1, 0]);
      const { tasks } = await q.claim('h', ['y']);
      expect(tasks.map((t) => [t.token, t.id, t.fields.claims])).toEqual([['y', 't', '2']]);
      // The slot of 'x' is freed (say its child exited).
      expect(await q.finish('h', [], { mode: 'free', moreTokens: ['x'] })).toEqual({
        outcomes: [],
        leased: [],
      });
      expect(await q.record('t')).toMatchObject({ state: 'active', host: 'h', claims: '2' });
    });
  });

  describe('a host that is not alive', () => {
    it('still ends its runs, but leases nothing and makes no token hash', async () => {
      const q = suite.queue();
      const t = await leased(q, { id: 't' });
      await q.enqueue({ id: 'waiting' });
      await q.run(unregisterHostScript, 'h');
      const reply = await q.finish('h', [end(t, 'ok')], { moreTokens: ['b'] });
      expect(reply).toEqual({ outcomes: ['succeeded'], leased: [] });
      expect(await q.redis.exists(q.keys.tokens('h'))).toBe(0);
      expect(await q.lane('normal')).toEqual(['waiting']);
      expect((await q.record('waiting')).state).toBe('queued');
    });

    it('leases nothing once its heartbeat expired, and makes no token hash again', async () => {
      const q = suite.queue();
      // Its entry in hosts and its token hash expire together (they share the TTL).
      await q.registerHost('h', ['a', 'b'], 300);
      await q.enqueue({ id: 't1' }, { id: 't2' }, { id: 'waiting' });
      const [t1, t2] = (await q.claim('h', ['a', 'b'])).tasks;
      await sleep(400);
      expect(await q.redis.exists(q.keys.tokens('h'))).toBe(0);

      const leasing = await q.finish('h', [end(t1, 'ok')], { moreTokens: ['b'] });
      expect(leasing).toEqual({ outcomes: ['succeeded'], leased: [] });
      expect(await q.redis.exists(q.keys.tokens('h'))).toBe(0);
      expect(await q.lane('normal')).toEqual(['waiting']);
      expect(await q.record('waiting')).toMatchObject({ state: 'queued', attempts: '0' });
      // A release still gives its task back.
      const freeing = await q.finish('h', [end(t2, 'release')], { mode: 'free' });
      expect(freeing).toEqual({ outcomes: ['released'], leased: [] });
      expect(await q.redis.exists(q.keys.tokens('h'))).toBe(0);
      expect(await q.lane('normal')).toEqual(['t2', 'waiting']);
    });

    it('leases nothing to a token it never registered', async () => {
      const q = suite.queue();
      await q.registerHost('h', ['a']);
      await q.enqueue({ id: 'waiting' });
      expect(await q.finish('h', [], { moreTokens: ['x'] })).toEqual({ outcomes: [], leased: [] });
      expect(await q.tokens('h')).toEqual({ a: '' });
      expect(await q.lane('normal')).toEqual(['waiting']);
    });
  });
});
