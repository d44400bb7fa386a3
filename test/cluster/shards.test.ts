/**
 * A sharded queue (K = 3) on a 3-master Redis Cluster, each shard's slot on a master of its own
 * (moved there first when two hash tags land on one master): three worker hosts run 30,000 tasks,
 * each exactly once; priority holds across the shards; idempotency keys meet on one shard; a
 * producer or host of another shard count is refused; stats and dead-letter retry see every
 * shard. Real servers and processes, nothing mocked.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { prepareBatch } from '../../shared/enqueue-request.js';
import { ShardMismatchError } from '../../shared/errors.js';
import { QueueClient } from '../../shared/queue-client.js';
import { placeTask, shardOfId } from '../../shared/shards.js';
import { ioredisTransport } from '../../worker-host/redis/ioredis-transport.js';
import { fixtureTasks } from '../fixtures/handlers.js';
import { waitFor } from '../support/redis.js';
import { clusterSuite, readRecords } from './harness.js';

const suite = clusterSuite('cluster-shards');
const K = 3;
let sharded: QueueClient;

/** A fresh sharded producer (each records the shard count in the plain queue once). */
const producer = (shards = K) =>
  new QueueClient(ioredisTransport(suite.redis), { namespace: suite.namespace, shards });

async function enqueue(requests: readonly unknown[], client = sharded): Promise<string[]> {
  const prepared = prepareBatch(fixtureTasks, requests);
  if (!prepared.ok) throw new Error(JSON.stringify(prepared.issues));
  return (await client.enqueue(prepared.specs)).map((r) => r.id);
}

const succeeded = (n: number, timeoutMs = 30_000) =>
  waitFor(async () => (await sharded.stats()).succeeded >= n, {
    timeoutMs,
    intervalMs: 200,
    what: `${n} tasks to succeed`,
  });

beforeAll(async () => {
  sharded = producer();
  // Each shard on a master of its own.
  const masters = await suite.cluster.masters();
  const tag = (i: number) => `{default#${i}}`;
  const used = new Set<number>();
  for (let i = 0; i < K; i++) {
    const at = await suite.cluster.masterOf(tag(i));
    if (!used.has(at)) {
      used.add(at);
      continue;
    }
    const free = masters.find((port) => !used.has(port));
    if (free === undefined) throw new Error('fewer masters than shards');
    await suite.cluster.moveSlotOf(tag(i), free);
    used.add(free);
  }
}, 60_000);

/**
 * Deletes the namespace's keys on every master, one UNLINK per key: a master holds a shard's
 * slot and the plain queue's (its recorded shard count), and one DEL may not name two slots.
 */
async function clearAll(): Promise<void> {
  for (const port of await suite.cluster.masters()) {
    const node = suite.cluster.node(port);
    try {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(
          cursor,
          'MATCH',
          `${suite.namespace}:*`,
          'COUNT',
          1000,
        );
        cursor = next;
        const pipeline = node.pipeline();
        for (const key of found) pipeline.unlink(key);
        await pipeline.exec();
      } while (cursor !== '0');
    } finally {
      node.disconnect();
    }
  }
}

afterEach(async () => {
  await clearAll();
  sharded = producer();
});

describe('a sharded queue on a 3-master Redis Cluster', () => {
  it('has each shard on its own master', async () => {
    const ports = await Promise.all(sharded.shardKeys.map((k) => suite.cluster.masterOf(k.stats)));
    expect(new Set(ports).size).toBe(K);
  });

  it('three hosts run 30,000 tasks, each exactly once', async () => {
    const file = suite.logFile();
    const ids: string[] = [];
    for (let b = 0; b < 30; b++) {
      ids.push(
        ...(await enqueue(
          Array.from({ length: 1000 }, (_, i) => ({
            type: 'record',
            payload: { file, tag: `${b}-${i}` },
          })),
        )),
      );
    }
    const perShard = [0, 0, 0];
    for (const id of ids) perShard[shardOfId(K, id)] = (perShard[shardOfId(K, id)] ?? 0) + 1;
    for (const n of perShard) expect(n).toBeGreaterThan(9_000);
    for (let h = 0; h < 3; h++) await suite.startHost({ shards: K, concurrency: 2, prefetch: 16 });
    await succeeded(30_000, 240_000);
    const runs = readRecords(file).map((r) => r.id);
    expect(runs).toHaveLength(30_000);
    expect(new Set(runs).size).toBe(30_000);
    expect(new Set(runs)).toEqual(new Set(ids));
    expect(await sharded.stats()).toMatchObject({
      succeeded: 30_000,
      active: 0,
      lanes: { high: 0, normal: 0, low: 0 },
    });
  }, 300_000);

  it('priority across shards: every high task, then normal, then low', async () => {
    const file = suite.logFile();
    const plan = ['low', 'normal', 'high'].flatMap((p) => Array(9).fill(p) as string[]);
    const ids = await enqueue(
      plan.map((priority) => ({ type: 'record', priority, payload: { file, tag: priority } })),
    );
    expect(new Set(ids.map((id) => shardOfId(K, id))).size).toBe(K);
    await suite.startHost({ shards: K, concurrency: 1 });
    await succeeded(27);
    expect(readRecords(file).map((r) => r.tag)).toEqual([
      ...Array(9).fill('high'),
      ...Array(9).fill('normal'),
      ...Array(9).fill('low'),
    ]);
  });

  it('idempotency keys meet on one shard; the task runs once', async () => {
    const file = suite.logFile();
    const request = (tag: string) => ({
      type: 'record',
      payload: { file, tag },
      idempotencyKey: 'order-7',
    });
    const [first] = await enqueue([request('once')]);
    const [again] = await enqueue([request('twice')], producer());
    expect(again).toBe(first);
    expect(shardOfId(K, first ?? '')).toBe(placeTask(K, '', 'order-7'));
    await suite.startHost({ shards: K, concurrency: 1 });
    await succeeded(1);
    expect(readRecords(file).map((r) => r.tag)).toEqual(['once']);
  });

  it('refuses a producer or a host of another shard count', async () => {
    await enqueue([{ type: 'record', payload: { file: suite.logFile(), tag: 'x' } }]);
    await expect(
      enqueue([{ type: 'record', payload: { file: suite.logFile(), tag: 'y' } }], producer(1)),
    ).rejects.toThrow(ShardMismatchError);
    await expect(
      enqueue([{ type: 'record', payload: { file: suite.logFile(), tag: 'y' } }], producer(2)),
    ).rejects.toThrow(/declared with 3 shard\(s\), but this client uses 2/);
    await expect(suite.startHost({ shards: 2, concurrency: 1 })).rejects.toThrow(
      /declared with 3 shard\(s\), but this client uses 2: set FORKLIFT_SHARDS=3/,
    );
    await expect(suite.startHost({ concurrency: 1 })).rejects.toThrow(
      /declared with 3 shard\(s\), but this client uses 1/,
    );
  });

  it('stats and dead-letter retry see every shard', async () => {
    // Idempotency keys chosen four per shard (placement by key), so every shard holds some: with
    // ids placed at random, 12 tasks missed a shard about once in 40 runs.
    const keys: string[] = [];
    const perShard = new Map<number, number>();
    for (let i = 0; keys.length < 12; i++) {
      const key = `dead-${i}`;
      const shard = placeTask(K, '', key);
      if ((perShard.get(shard) ?? 0) >= 4) continue;
      perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
      keys.push(key);
    }
    const ids = await enqueue(
      keys.map((idempotencyKey, i) => ({
        type: 'throw',
        payload: { message: `no ${i}` },
        maxAttempts: 1,
        idempotencyKey,
      })),
    );
    expect(new Set(ids.map((id) => shardOfId(K, id))).size).toBe(K);
    await suite.startHost({ shards: K, concurrency: 2 });
    await waitFor(async () => (await sharded.stats()).dead === 12, { what: '12 dead' });
    const page = await sharded.listDead(0, 50);
    expect(page.total).toBe(12);
    expect(new Set(page.tasks.map((t) => t.id))).toEqual(new Set(ids));
    expect(await sharded.retryAllDead()).toBe(12);
    await waitFor(async () => (await sharded.stats()).dead === 24, { what: '24 dead' });
    const overview = await sharded.overview();
    expect(overview.totals.enqueued).toBe(12);
    expect(overview.hosts).toHaveLength(1);
  });
});
