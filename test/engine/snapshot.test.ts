/**
 * The snapshot script behind `QueueClient.overview()`: lanes and the wait of each lane's head,
 * totals, live hosts with their slot counts and vital signs, and the sampled history (bounded,
 * with a TTL, written by the snapshot only when a sample is due and never under EVAL_RO).
 */
import { describe, expect, it } from 'vitest';
import { scriptSha } from '../../shared/script-runner.js';
import {
  HISTORY_INTERVAL_MS,
  HISTORY_MAX_SAMPLES,
  HISTORY_TTL_MS,
  heartbeatScript,
  promoteScript,
  snapshotScript,
} from '../../shared/scripts/index.js';
import { engineSuite, sleep } from './harness.js';

const suite = engineSuite('snapshot');

describe('snapshot script', () => {
  it('reads lanes, head waits, sets, totals and dead kept', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'h1', priority: 'high' }, { id: 'n1' }, { id: 'n2' });
    await q.enqueue({ id: 'later', delayMs: 60_000 });
    await q.registerHost('h', ['0.0']);
    await q.enqueue({ id: 'runs', priority: 'low' });
    // Make the normal lane's head older than it is.
    const now = await q.now();
    await q.redis.hset(q.keys.task('n1'), 'createdAt', now - 5_000);
    const o = await q.client.overview();
    expect(o.queue).toBe(q.name);
    expect(o.now).toBeGreaterThanOrEqual(now);
    expect(o.lanes.map((l) => [l.lane, l.size])).toEqual([
      ['high', 1],
      ['normal', 2],
      ['low', 1],
    ]);
    expect(o.lanes[1]?.oldestWaitMs).toBeGreaterThanOrEqual(5_000);
    expect(o.lanes[1]?.oldestWaitMs).toBeLessThan(10_000);
    expect(o.lanes[0]?.oldestWaitMs).toBeLessThan(1_000);
    expect(o.delayed).toBe(1);
    expect(o.active).toBe(0);
    expect(o.totals).toEqual({ enqueued: 5, succeeded: 0, failed: 0, dead: 0, canceled: 0 });
    expect(o.deadKept).toBe(0);

    await q.redis.del(q.keys.laneHigh);
    expect((await q.client.overview()).lanes[0]).toEqual({
      lane: 'high',
      size: 0,
      oldestWaitMs: null,
    });
  });

  it("measures a promoted task's wait from its due time, not its enqueue time", async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'd', delayMs: 1 });
    await q.redis.hset(q.keys.task('d'), 'createdAt', (await q.now()) - 3_600_000);
    await sleep(5);
    expect(await q.runArray(promoteScript, 10)).toEqual([1, -1]);
    const record = await q.record('d');
    expect(Number(record.readyAt)).toBeGreaterThan(Number(record.createdAt));
    expect((await q.client.overview()).lanes[1]?.oldestWaitMs).toBeLessThan(1_000);
  });

  it('lists live hosts with slots (free, busy, prefetched) and vital signs', async () => {
    const q = suite.queue();
    // Two slots of three tokens (prefetch 2), one slot of one token.
    await q.registerHost('h', ['0.0', '0.1', '0.2', '1.0', '1.1', '1.2']);
    await q.registerHost('gone', ['0.0'], 1);
    await q.enqueue({ id: 'a' }, { id: 'b' }, { id: 'c' });
    await q.claim('h', ['0.0', '0.1', '1.0']);
    await q.run(heartbeatScript, 'h', 60_000, 2, 5_000_000, '0.0');
    await sleep(5);
    const { hosts } = await q.client.overview();
    expect(hosts).toHaveLength(1);
    const [host] = hosts;
    expect(host).toMatchObject({
      id: 'h',
      hostname: null,
      pid: 1,
      children: 2,
      rssBytes: 5_000_000,
      slots: { free: 0, busy: 2, prefetched: 1 },
    });
    expect(host?.startedAt).toBeGreaterThan(0);
    expect(host?.lastHeartbeatAt).toBeGreaterThanOrEqual(host?.startedAt ?? 0);
    expect(host?.expiresAt).toBeGreaterThan(Date.now());

    await q.registerHost('idle', ['0.0', '1.0', '2.0']);
    const idle = (await q.client.overview()).hosts.find((h) => h.id === 'idle');
    expect(idle?.slots).toEqual({ free: 3, busy: 0, prefetched: 0 });
    expect(idle?.children).toBeNull();
  });

  it('samples the history at most once per interval, with the running totals', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'a' }, { id: 'b' });
    const first = await q.client.overview();
    expect(first.history).toEqual([
      { at: first.now, enqueued: 2, succeeded: 0, failed: 0, dead: 0 },
    ]);
    await q.enqueue({ id: 'c' });
    expect((await q.client.overview()).history).toHaveLength(1);
    // Age the newest sample past the interval: the next snapshot adds one.
    await q.redis.lset(q.keys.history, -1, `${first.now - HISTORY_INTERVAL_MS} 2 0 0 0`);
    const second = await q.client.overview();
    expect(second.history.map((s) => s.enqueued)).toEqual([2, 3]);
    const ttl = await q.redis.pttl(q.keys.history);
    expect(ttl).toBeGreaterThan(HISTORY_TTL_MS - 5_000);
    expect(ttl).toBeLessThanOrEqual(HISTORY_TTL_MS);
  });

  it(`keeps at most ${HISTORY_MAX_SAMPLES} samples, with a TTL, however many are taken`, async () => {
    const q = suite.queue();
    const now = await q.now();
    for (let i = 0; i < HISTORY_MAX_SAMPLES + 40; i++) {
      // Each round makes the newest sample old enough for the next snapshot to add one.
      if (i > 0) await q.redis.lset(q.keys.history, -1, `${now - HISTORY_INTERVAL_MS - 1} 0 0 0 0`);
      await q.run(snapshotScript);
    }
    expect(await q.redis.llen(q.keys.history)).toBe(HISTORY_MAX_SAMPLES);
    expect(await q.redis.pttl(q.keys.history)).toBeGreaterThan(0);
    expect((await q.client.overview()).history).toHaveLength(HISTORY_MAX_SAMPLES);
  });

  it('writes nothing under EVALSHA_RO, and says readOnly', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'a' });
    expect(snapshotScript.readOnly).toBe(true);
    await q.redis.script('LOAD', snapshotScript.source);
    const before = await q.snapshot();
    const reply = (await q.redis.call(
      'EVALSHA_RO',
      await scriptSha(snapshotScript),
      q.keys.scriptKeys.length,
      ...q.keys.scriptKeys,
      q.keys.prefix,
    )) as unknown[];
    expect(reply[0]).toEqual(expect.any(Number));
    expect(await q.snapshot()).toEqual(before);
  });

  it('tolerates a history key of another type and a host without a description', async () => {
    const q = suite.queue();
    await q.redis.set(q.keys.history, 'junk');
    await q.run(heartbeatScript, 'bare', 60_000, '', '', '0.0');
    const o = await q.client.overview();
    expect(o.history).toHaveLength(1);
    expect(o.hosts).toMatchObject([{ id: 'bare', hostname: null, concurrency: 0 }]);
  });
});
