/**
 * Worker hosts on a 3-master Redis Cluster (REDIS_URL `redis+cluster://...`): strict priority,
 * idempotency keys, delays and cancel behave as on one Redis, and a host keeps serving its
 * queue after the queue's slot moves to another master (its connections, and its children's,
 * follow the MOVED replies). Real servers and processes, nothing mocked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../support/redis.js';
import { clusterSuite, readRecords } from './harness.js';

const suite = clusterSuite('cluster-worker');

afterEach(() => suite.clear());

describe('a worker host on a Redis Cluster', () => {
  it('strict priority: with concurrency 1, all high (FIFO), then normal, then low', async () => {
    const file = suite.logFile();
    const plan = ['low', 'normal', 'high', 'low', 'high', 'normal', 'normal', 'low', 'high'];
    const seen: Record<string, number> = {};
    const tags = plan.map((priority) => {
      seen[priority] = (seen[priority] ?? 0) + 1;
      return `${priority}-${seen[priority]}`;
    });
    const ids = await suite.enqueueIds(
      plan.map((priority, i) => ({ type: 'record', priority, payload: { file, tag: tags[i] } })),
    );
    await suite.startHost({ concurrency: 1 });
    const views = await suite.waitForAll(ids);
    expect(views.map((v) => v.state)).toEqual(ids.map(() => 'succeeded'));
    expect(readRecords(file).map((r) => r.tag)).toEqual([
      ...['high-1', 'high-2', 'high-3'],
      ...['normal-1', 'normal-2', 'normal-3'],
      ...['low-1', 'low-2', 'low-3'],
    ]);
  });

  it('idempotency: a repeated key names the first task, which runs exactly once', async () => {
    const file = suite.logFile();
    const request = { type: 'record', payload: { file, tag: 'once' }, idempotencyKey: 'order-42' };
    const [first] = await suite.enqueueIds([request]);
    const [again] = await suite.enqueueIds([{ ...request, payload: { file, tag: 'twice' } }]);
    if (!first) throw new Error('no id');
    expect(again).toBe(first);
    await suite.startHost({ concurrency: 2 });
    await suite.waitForState(first, 'succeeded');
    const [late] = await suite.enqueueIds([{ ...request, payload: { file, tag: 'thrice' } }]);
    expect(late).toBe(first);
    expect(readRecords(file).map((r) => r.tag)).toEqual(['once']);
  });

  it('delay: a delayed task runs no earlier than its time, with the host blocked meanwhile', async () => {
    await suite.startHost({ concurrency: 1 });
    const file = suite.logFile();
    const [id] = await suite.enqueueIds([
      { type: 'record', payload: { file, tag: 'late' }, delaySeconds: 1 },
    ]);
    if (!id) throw new Error('no id');
    const view = await suite.queue.getTask(id);
    const runAt = Date.parse(view?.runAt ?? '');
    await sleep(500);
    expect(await suite.queue.getTask(id)).toMatchObject({ state: 'delayed' });
    await suite.waitForState(id, 'succeeded');
    expect(readRecords(file)[0]?.start).toBeGreaterThanOrEqual(runAt);
  });

  it('cancel: a queued and a delayed task are canceled and never run', async () => {
    const file = suite.logFile();
    const [queued, delayed, kept] = await suite.enqueueIds([
      { type: 'record', payload: { file, tag: 'queued' } },
      { type: 'record', payload: { file, tag: 'delayed' }, delaySeconds: 0.5 },
      { type: 'record', payload: { file, tag: 'kept' }, delaySeconds: 0.8 },
    ]);
    if (!queued || !delayed || !kept) throw new Error('no ids');
    expect(await suite.queue.cancel(queued)).toEqual({ outcome: 'canceled' });
    expect(await suite.queue.cancel(delayed)).toEqual({ outcome: 'canceled' });
    await suite.startHost({ concurrency: 1 });
    await suite.waitForState(kept, 'succeeded');
    expect(await suite.queue.getTask(queued)).toMatchObject({ state: 'canceled' });
    expect(await suite.queue.getTask(delayed)).toMatchObject({ state: 'canceled' });
    expect(readRecords(file).map((r) => r.tag)).toEqual(['kept']);
  });

  it('the queue’s slot moves to another master: the host and its children follow (MOVED)', async () => {
    const file = suite.logFile();
    const host = await suite.startHost({ concurrency: 2 });
    const batch = (from: number) =>
      Array.from({ length: 10 }, (_, i) => ({
        type: 'record',
        payload: { file, tag: `t${from + i}` },
      }));
    const before = await suite.enqueueIds(batch(0));
    await suite.waitForAll(before, 'succeeded');

    const from = await suite.cluster.masterOf(suite.keys.stats);
    const to = (await suite.cluster.masters()).find((port) => port !== from) ?? from;
    await suite.cluster.moveSlotOf(suite.keys.stats, to);
    expect(await suite.cluster.masterOf(suite.keys.stats)).toBe(to);

    // The test's client, the host (blocked in BLPOP on the old master) and the children all
    // still have the old slot table.
    const after = await suite.enqueueIds(batch(10));
    const views = await suite.waitForAll(after, 'succeeded');
    expect(views.every((v) => v.attempts === 1)).toBe(true);
    const tags = readRecords(file).map((r) => r.tag);
    expect(tags).toHaveLength(20);
    expect(new Set(tags).size).toBe(20);
    // The host is still registered and beating on the new master.
    await waitFor(
      async () => (await suite.redis.zcount(suite.keys.hosts, Date.now(), '+inf')) === 1,
      {
        what: 'one live host',
      },
    );
    expect(host.pids()).toHaveLength(2);
  });
});
