import { describe, expect, it } from 'vitest';
import { renewScript } from '../../shared/scripts/index.js';
import { engineSuite } from './harness.js';

const suite = engineSuite('renew');

describe('renew script', () => {
  it("pushes back the deadline of the host's leases and names the ones it lost", async () => {
    const q = suite.queue();
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

  it('does not bring back a lease that the reaper already removed', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't' });
    await q.claim('h', ['a']);
    // The record still says active, but the task is no longer in the active set.
    await q.redis.zrem(q.keys.active, 't');
    expect(await q.runArray(renewScript, 'h', 60_000, 't', '1')).toEqual([]);
    expect(await q.zset(q.keys.active)).toEqual({});
  });

  it('answers an empty list when there is nothing to renew', async () => {
    const q = suite.queue();
    expect(await q.runArray(renewScript, 'h', 60_000)).toEqual([]);
  });
});
