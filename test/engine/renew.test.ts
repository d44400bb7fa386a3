import { describe, expect, it } from 'vitest';
import { reapScript, renewScript } from '../../shared/scripts/index.js';
import { engineSuite, sleep } from './harness.js';

const suite = engineSuite('renew');

describe('renew script', () => {
  it("pushes back the deadline of the host's leases and names the ones it lost", async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b']);
    await q.registerHost('other', ['x']);
    await q.enqueue({ id: 'mine' }, { id: 'old' }, { id: 'theirs' }, { id: 'queued' });
    await q.claim('h', ['a', 'b'], { leaseMs: 1000 });
    await q.claim('other', ['x'], { leaseMs: 1000 });
    const before = await q.now();
    const lost = await q.runArray(
      renewScript,
      'h',
      60_000,
      ...['mine', '1', 'old', '0', 'theirs', '1', 'queued', '0', 'missing', '1'],
    );
    const after = await q.now();
    expect(lost).toEqual(['old', 'theirs', 'queued', 'missing']);
    const active = await q.zset(q.keys.active);
    expect(active.mine).toBeGreaterThanOrEqual(before + 60_000);
    expect(active.mine).toBeLessThanOrEqual(after + 60_000);
    // Leases it does not hold keep their deadline.
    expect(active.old).toBeLessThan(before + 2000);
    expect(active.theirs).toBeLessThan(before + 2000);
    expect(Object.keys(active).sort()).toEqual(['mine', 'old', 'theirs']);
    expect(await q.record('mine')).toMatchObject({ state: 'active', host: 'h', claims: '1' });
  });

  it('does not name a run this host ended meanwhile, however it ended', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b', 'c', 'd']);
    await q.enqueue({ id: 'ok' }, { id: 'failed' }, { id: 'fatal' }, { id: 'released' });
    const { tasks } = await q.claim('h', ['a', 'b', 'c', 'd']);
    const kinds = ['ok', 'fail', 'fatal', 'release'] as const;
    const { outcomes } = await q.finish(
      'h',
      tasks.map((t, i) => ({
        token: t.token,
        id: t.id,
        lease: t.fields.claims ?? '',
        kind: kinds[i] ?? 'ok',
      })),
      { mode: 'free' },
    );
    expect(outcomes).toEqual(['succeeded', 'failed', 'dead', 'released']);
    const before = await q.snapshot();
    // A renew sent before the finish reply came back. A released task's 'host' is cleared, so
    // it is reported lost: the host has given it back anyway.
    expect(
      await q.runArray(
        renewScript,
        'h',
        60_000,
        ...['ok', '1', 'failed', '1', 'fatal', '1', 'released', '1'],
      ),
    ).toEqual(['released']);
    expect(await q.snapshot()).toEqual(before);
  });

  it('names a lease that was reaped', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    await q.enqueue({ id: 't' });
    await q.claim('h', ['a'], { leaseMs: 1 });
    await sleep(5);
    // The host is alive, but the lease expired longer ago than the grace.
    expect(await q.runArray(reapScript, 100, 0)).toEqual([1, 0]);
    expect(await q.runArray(renewScript, 'h', 60_000, 't', '1')).toEqual(['t']);
    expect(await q.zset(q.keys.active)).toEqual({});
    expect((await q.record('t')).state).toBe('queued');
  });

  it('does not bring back a lease that is no longer in the active set', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    await q.enqueue({ id: 't' });
    await q.claim('h', ['a']);
    // The record still says active, but the task is no longer in the active set.
    await q.redis.zrem(q.keys.active, 't');
    expect(await q.runArray(renewScript, 'h', 60_000, 't', '1')).toEqual([]);
    expect(await q.zset(q.keys.active)).toEqual({});
  });

  it('names a task whose key is not a hash', async () => {
    const q = suite.queue();
    await q.redis.set(q.keys.task('bad'), 'junk');
    expect(await q.runArray(renewScript, 'h', 60_000, 'bad', '1')).toEqual(['bad']);
    expect(await q.redis.get(q.keys.task('bad'))).toBe('junk');
  });

  it('answers an empty list when there is nothing to renew', async () => {
    const q = suite.queue();
    expect(await q.runArray(renewScript, 'h', 60_000)).toEqual([]);
  });
});
