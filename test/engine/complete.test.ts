import { describe, expect, it } from 'vitest';
import { completeScript } from '../../shared/scripts/index.js';
import { claimedFrom, type EngineQueue, engineSuite } from './harness.js';

const suite = engineSuite('complete');

/** complete for host 'h'; `next` claims the following task for the same token. */
function complete(
  q: EngineQueue,
  token: string,
  id: string,
  lease: string,
  { result = '{"ok":true}', next = false, host = 'h' } = {},
): Promise<unknown[]> {
  return q.runArray(completeScript, host, next ? 1 : 0, 30_000, 'hnl', token, id, lease, result);
}

describe('complete script', () => {
  it('stores the result, ends the lease and counts a success', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    await q.enqueue({ id: 't', resultTtlMs: 60_000 });
    const [claimed] = (await q.claim('h', ['a'])).tasks;
    const before = await q.now();
    expect(await complete(q, 'a', 't', claimed?.fields.claims ?? '', { result: '81' })).toEqual([
      1,
    ]);
    const after = await q.now();

    const record = await q.record('t');
    expect(record).toMatchObject({ state: 'succeeded', result: '81', attempts: '1' });
    // The host that last leased it stays on the record, for tracing.
    expect(record.host).toBe('h');
    expect(Number(record.finishedAt)).toBeGreaterThanOrEqual(before);
    expect(Number(record.finishedAt)).toBeLessThanOrEqual(after);
    const ttl = await q.redis.pttl(q.keys.task('t'));
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await q.zset(q.keys.active)).toEqual({});
    expect((await q.stats()).succeeded).toBe('1');
    // Nothing to claim next: the token goes back to the host.
    expect(await q.tokens('h')).toEqual(['a']);
  });

  it('drops the error of an earlier failed attempt', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't' });
    const [claimed] = (await q.claim('h', ['a'])).tasks;
    await q.redis.hset(q.keys.task('t'), 'error', 'attempt 1 failed');
    await complete(q, 'a', 't', claimed?.fields.claims ?? '');
    expect((await q.record('t')).error).toBeUndefined();
  });

  it('claims the next task for the same token when asked', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b']);
    await q.enqueue({ id: 't1' }, { id: 't2' }, { id: 't0', priority: 'high' });
    const first = (await q.claim('h', ['a'])).tasks[0];
    expect(first?.id).toBe('t0');
    const reply = await complete(q, 'a', 't0', first?.fields.claims ?? '', { next: true });
    expect(reply[0]).toBe(1);
    const [next] = claimedFrom(reply, 1);
    expect(next?.token).toBe('a');
    expect(next?.id).toBe('t1');
    expect(next?.fields).toMatchObject({ type: 'square', attempts: '1', claims: '1' });
    expect(await q.record('t1')).toMatchObject({
      state: 'active',
      host: 'h',
      claims: '1',
    });
    expect(Object.keys(await q.zset(q.keys.active))).toEqual(['t1']);
    expect(await q.tokens('h')).toEqual(['b']);
    expect(await q.lane('normal')).toEqual(['t2']);
  });

  it('promotes a due delayed task before claiming next, so a busy host honours delays', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    await q.enqueue({ id: 'now' }, { id: 'later', priority: 'high', delayMs: 30 });
    const [claimed] = (await q.claim('h', ['a'])).tasks;
    expect(claimed?.id).toBe('now');
    await new Promise((r) => setTimeout(r, 60));
    const reply = await complete(q, 'a', 'now', claimed?.fields.claims ?? '', { next: true });
    const [next] = claimedFrom(reply, 1);
    expect(next?.id).toBe('later');
    expect(await q.zset(q.keys.delayed)).toEqual({});
  });

  it("with '2' leases the next task without promoting due delayed tasks", async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    await q.enqueue(
      { id: 'now' },
      { id: 'queued' },
      { id: 'later', priority: 'high', delayMs: 30 },
    );
    const [claimed] = (await q.claim('h', ['a'])).tasks;
    expect(claimed?.id).toBe('now');
    await new Promise((r) => setTimeout(r, 60));
    const lease = claimed?.fields.claims ?? '';
    const reply = await q.runArray(completeScript, 'h', '2', 30_000, 'hnl', 'a', 'now', lease, '1');
    expect(claimedFrom(reply, 1).map((t) => t.id)).toEqual(['queued']);
    expect(Object.keys(await q.zset(q.keys.delayed))).toEqual(['later']);
  });

  it('leases from the first lane in order that has work, skipping empty ones', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    await q.enqueue({ id: 'first' }, { id: 'low', priority: 'low' });
    const [claimed] = (await q.claim('h', ['a'])).tasks;
    const lease = claimed?.fields.claims ?? '';
    // 'hnl': high and normal are empty now, so the low task comes next.
    const reply = await q.runArray(completeScript, 'h', 1, 30_000, 'hnl', 'a', 'first', lease, '1');
    expect(claimedFrom(reply, 1).map((t) => t.id)).toEqual(['low']);
  });

  it('completes several runs in one call and leases as many next tasks as there are', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b', 'c']);
    await q.enqueue({ id: 't1' }, { id: 't2' }, { id: 't3' }, { id: 'n1' }, { id: 'n2' });
    const claimed = (await q.claim('h', ['a', 'b', 'c'])).tasks;
    expect(claimed.map((t) => t.id)).toEqual(['t1', 't2', 't3']);
    const groups = claimed.flatMap((t) => [t.token, t.id, t.fields.claims ?? '', '7']);
    groups[6] = '99'; // t2's lease is wrong: it must not be stored
    const reply = await q.runArray(completeScript, 'h', 1, 30_000, 'hnl', ...groups);
    expect(reply.slice(0, 3)).toEqual([1, 0, 1]);
    expect(claimedFrom(reply, 3).map((t) => [t.token, t.id])).toEqual([
      ['a', 'n1'],
      ['b', 'n2'],
    ]);
    expect(await q.tokens('h')).toEqual(['c']);
    expect((await q.record('t1')).state).toBe('succeeded');
    expect((await q.record('t2')).state).toBe('active');
    expect((await q.record('t3')).result).toBe('7');
    expect(await q.stats()).toMatchObject({ succeeded: '2' });
  });

  it('returns the token to the host list when next finds nothing', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b']);
    await q.enqueue({ id: 't' });
    const [claimed] = (await q.claim('h', ['a'])).tasks;
    expect(await q.tokens('h')).toEqual(['b']);
    expect(await complete(q, 'a', 't', claimed?.fields.claims ?? '', { next: true })).toEqual([1]);
    expect(await q.tokens('h')).toEqual(['b', 'a']);
    const listTtl = await q.redis.pttl(q.keys.tokens('h'));
    expect(listTtl).toBeGreaterThan(50_000);
  });

  it('does not give a token to a host that is not alive', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't' });
    const [claimed] = (await q.claim('ghost', ['a'])).tasks;
    expect(await complete(q, 'a', 't', claimed?.fields.claims ?? '', { host: 'ghost' })).toEqual([
      1,
    ]);
    expect(await q.redis.exists(q.keys.tokens('ghost'))).toBe(0);
  });

  it.each([
    ['a wrong lease', { lease: '2', host: 'h' }],
    ['another host', { lease: '1', host: 'other' }],
  ])('stores nothing with %s', async (_what, { lease, host }) => {
    const q = suite.queue();
    await q.enqueue({ id: 't' });
    await q.claim('h', ['a']);
    const record = await q.record('t');
    const active = await q.zset(q.keys.active);
    expect(await complete(q, 'a', 't', lease, { host })).toEqual([0]);
    expect(await q.record('t')).toEqual(record);
    expect(await q.redis.pttl(q.keys.task('t'))).toBe(-1);
    expect(await q.zset(q.keys.active)).toEqual(active);
    expect((await q.stats()).succeeded).toBeUndefined();
  });

  it('stores nothing for a task that is not active, and still claims next', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'queued' }, { id: 'other' });
    await q.redis.lrem(q.keys.laneNormal, 0, 'queued');
    const record = await q.record('queued');
    const reply = await complete(q, 'a', 'queued', '0', { next: true });
    expect(reply[0]).toBe(0);
    expect(claimedFrom(reply, 1).map((t) => t.id)).toEqual(['other']);
    expect(await q.record('queued')).toEqual(record);
    expect(await complete(q, 'a', 'missing', '1')).toEqual([0]);
  });
});
