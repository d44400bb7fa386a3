/**
 * Sharded queues on one Redis (K = 3): the keys differ per shard and everything works on one
 * node too: placement and ids, look-ups by id in one call, idempotency keys meeting on one
 * shard, the shard-count guard, claim rounds across shards (high before normal before low),
 * and the whole-queue views (stats, dead list and retry, overview, search, waiting lists).
 */
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareBatch } from '../../shared/enqueue-request.js';
import { ShardMismatchError } from '../../shared/errors.js';
import { queueKeys, shardKeys } from '../../shared/keys.js';
import { QueueClient } from '../../shared/queue-client.js';
import { fnv1a, placeTask, shardOfId } from '../../shared/shards.js';
import { tasks } from '../../shared/tasks/index.js';
import { HostScripts } from '../../worker-host/engine/host-scripts.js';
import { lanesDownTo, ShardScripts } from '../../worker-host/engine/shard-scripts.js';
import { ioredisTransport } from '../../worker-host/redis/ioredis-transport.js';
import { deleteNamespace, scanKeys, testNamespace, testRedis } from '../support/redis.js';

const redis: Redis = testRedis();
const namespace = testNamespace('shards');
let queues = 0;

/** A fresh queue name and a client of `shards` shards on it. */
function fresh(shards: number, queue = `q${++queues}`): QueueClient {
  return client(shards, queue);
}
function client(shards: number, queue: string): QueueClient {
  return new QueueClient(ioredisTransport(redis), { namespace, queue, shards });
}
function specs(requests: readonly unknown[]) {
  const prepared = prepareBatch(tasks, requests);
  if (!prepared.ok) throw new Error(JSON.stringify(prepared.issues));
  return prepared.specs;
}
const squares = (n: number, extra: object = {}) =>
  Array.from({ length: n }, (_, x) => ({ type: 'square', payload: { x }, ...extra }));

afterAll(async () => {
  await deleteNamespace(redis, namespace);
  redis.disconnect();
});

describe('shard keys and placement', () => {
  it('one shard keeps the plain {q} keys; K shards use {q#0} to {q#K-1}', () => {
    expect(shardKeys('jobs', 'ns', 1).map((k) => k.prefix)).toEqual(['ns:{jobs}:']);
    expect(shardKeys('jobs', 'ns', 3).map((k) => k.prefix)).toEqual([
      'ns:{jobs#0}:',
      'ns:{jobs#1}:',
      'ns:{jobs#2}:',
    ]);
    expect(queueKeys('jobs', 'ns', 2).task('a.s2')).toBe('ns:{jobs#2}:task:a.s2');
    expect(() => queueKeys('jobs', 'ns', 64)).toThrow(TypeError);
    expect(() => new QueueClient(ioredisTransport(redis), { shards: 0 })).toThrow(RangeError);
    expect(() => new QueueClient(ioredisTransport(redis), { shards: 65 })).toThrow(RangeError);
  });

  it('ids carry their shard; a key decides the shard when there is one', () => {
    expect(shardOfId(3, 'abc.s2')).toBe(2);
    expect(shardOfId(3, 'abc.s3')).toBe(-1);
    expect(shardOfId(3, 'abc')).toBe(-1);
    expect(shardOfId(1, 'abc')).toBe(0);
    expect(placeTask(5, 'any-id', 'key-1')).toBe(fnv1a('key-1') % 5);
    expect(placeTask(1, 'any-id', 'key-1')).toBe(0);
  });

  it('spreads tasks without keys evenly, each on the shard its id names', async () => {
    const q = fresh(3);
    const results = await q.enqueue(specs(squares(600)));
    const per = [0, 0, 0];
    for (const r of results) {
      const shard = shardOfId(3, r.id);
      expect(shard).toBeGreaterThanOrEqual(0);
      per[shard] = (per[shard] ?? 0) + 1;
      expect(await redis.exists(q.shardKeys[shard]?.task(r.id) ?? '')).toBe(1);
    }
    for (const n of per) expect(n).toBeGreaterThan(150);
    expect(await scanKeys(redis, `${namespace}:{${q.queue}}:task:*`)).toEqual([]);
    expect((await q.stats()).lanes.normal).toBe(600);
    for (let shard = 0; shard < 3; shard++) {
      expect(await redis.llen(q.shardKeys[shard]?.laneNormal ?? '')).toBe(per[shard]);
    }
  });

  it('reaches a task by id in one call: get, cancel, run now; a foreign id is not found', async () => {
    const q = fresh(3);
    const [queued, delayed] = await q.enqueue(
      specs([
        { type: 'square', payload: { x: 1 } },
        { type: 'square', payload: { x: 2 }, delaySeconds: 60 },
      ]),
    );
    expect((await q.getTask(queued?.id ?? ''))?.state).toBe('queued');
    expect(await q.runNow(delayed?.id ?? '')).toEqual({ outcome: 'queued' });
    expect(await q.cancel(queued?.id ?? '')).toEqual({ outcome: 'canceled' });
    expect((await q.getTask(queued?.id ?? ''))?.state).toBe('canceled');
    expect(await q.getTask('no-suffix')).toBeNull();
    expect(await q.cancel('x.s7')).toEqual({ outcome: 'not_found' });
    expect((await q.stats()).canceled).toBe(1);
  });

  it('idempotency keys meet on one shard, across calls and within a batch', async () => {
    const q = fresh(3);
    const keyed = (k: string) => ({ type: 'square', payload: { x: 1 }, idempotencyKey: k });
    const [first] = await q.enqueue(specs([keyed('order-1')]));
    const again = await q.enqueue(specs([keyed('order-1'), keyed('order-2'), keyed('order-2')]));
    expect(again[0]).toEqual({ id: first?.id, state: 'queued', duplicate: true });
    expect(again[2]).toEqual({ id: again[1]?.id, state: 'queued', duplicate: true });
    expect(shardOfId(3, first?.id ?? '')).toBe(placeTask(3, '', 'order-1'));
    expect((await q.findByIdempotencyKey('order-2'))?.id).toBe(again[1]?.id);
    expect((await q.stats()).lanes.normal).toBe(2);
  });

  it('a re-sent batch (same specs) lands where the first did and writes nothing more', async () => {
    const q = fresh(3);
    const batch = specs(squares(30));
    const first = await q.enqueue(batch);
    expect(await q.enqueue(batch)).toEqual(first);
    expect((await q.stats()).lanes.normal).toBe(30);
  });
});

describe('the shard-count guard', () => {
  it('refuses a producer whose count differs from the queue’s, writing nothing', async () => {
    const q = fresh(3);
    await q.enqueue(specs(squares(5)));
    await expect(client(2, q.queue).enqueue(specs(squares(5)))).rejects.toThrow(ShardMismatchError);
    await expect(client(1, q.queue).enqueue(specs(squares(5)))).rejects.toThrow(
      /declared with 3 shard\(s\), but this client uses 1: set FORKLIFT_SHARDS=3/,
    );
    await expect(client(4, q.queue).enqueue(specs(squares(5)))).rejects.toThrow(ShardMismatchError);
    expect((await q.stats()).lanes.normal).toBe(5);
  });

  it('refuses a sharded producer on a queue used with one shard', async () => {
    const plain = fresh(1);
    await plain.enqueue(specs(squares(2)));
    await expect(client(3, plain.queue).enqueue(specs(squares(2)))).rejects.toThrow(
      /declared with 1 shard\(s\), but this client uses 3/,
    );
    // One shard writes no shard count: its stats hash is as it always was.
    expect(await redis.hget(plain.keys.stats, 'shards')).toBeNull();
  });

  it('refuses a host of another count at declaration (every shard and the plain queue)', async () => {
    const q = fresh(3);
    await q.enqueue(specs(squares(1)));
    const plain = new HostScripts(redis, queueKeys(q.queue, namespace), 'h');
    await plain.load();
    await expect(plain.declareShards(1)).rejects.toThrow(/shard mismatch/);
    const two = new ShardScripts(redis, shardKeys(q.queue, namespace, 2), 'h', q.queue, namespace);
    await two.load();
    await expect(two.declare()).rejects.toThrow(ShardMismatchError);
    const three = new ShardScripts(redis, q.shardKeys, 'h', q.queue, namespace);
    await three.load();
    await expect(three.declare()).resolves.toBeUndefined();
  });
});

describe('claims and views across shards', () => {
  it('a claim round takes high from every shard before normal, then low', async () => {
    const q = fresh(3);
    await q.enqueue(
      specs([
        ...squares(6, { priority: 'low' }),
        ...squares(6, { priority: 'normal' }),
        ...squares(6, { priority: 'high' }),
      ]),
    );
    const scripts = new ShardScripts(redis, q.shardKeys, 'h', q.queue, namespace);
    await scripts.load();
    const tokens = Array.from({ length: 9 }, (_, i) => `${i}.0`);
    await scripts.register(60_000, {}, tokens);
    const reply = await scripts.claim(tokens, 30_000, 'hnl');
    const priorities = await Promise.all(
      reply.tasks.map(async (t) => (await q.getTask(t.id))?.priority),
    );
    expect(priorities).toEqual([...Array(6).fill('high'), ...Array(3).fill('normal')]);
    expect(lanesDownTo('hnl', 0)).toBe('h');
    expect(lanesDownTo('lhn', 1)).toBe('hn');
  });

  it('dead letters, retry and stats see the whole queue', async () => {
    const q = fresh(3);
    const results = await q.enqueue(specs(squares(12, { maxAttempts: 1 })));
    const scripts = new ShardScripts(redis, q.shardKeys, 'h', q.queue, namespace);
    await scripts.load();
    const tokens = Array.from({ length: 12 }, (_, i) => `${i}.0`);
    await scripts.register(60_000, {}, tokens);
    const claimed = await scripts.claim(tokens, 30_000, 'hnl');
    expect(claimed.tasks).toHaveLength(12);
    const lease = (fields: string[]) => fields[fields.indexOf('claims') + 1] ?? '';
    const ends = claimed.tasks.map((t) => ({
      token: t.token,
      id: t.id,
      lease: lease(t.fields),
      kind: 'fail' as const,
      error: 'boom',
    }));
    const done = await scripts.finish(ends, { free: true });
    expect(done.outcomes).toEqual(Array(12).fill('dead'));
    expect((await q.stats()).dead).toBe(12);
    const page = await q.listDead(0, 5);
    expect(page.total).toBe(12);
    expect(page.tasks).toHaveLength(5);
    expect((await q.deadPage({}, 0, 50)).total).toBe(12);
    const one = results[0]?.id ?? '';
    expect(await q.retryDead([one, 'foreign'])).toEqual({ retried: 1, notDead: ['foreign'] });
    expect(await q.retryAllDead(2)).toBe(11);
    const stats = await q.stats();
    expect(stats.lanes.normal).toBe(12);
    expect(stats.dead).toBe(12);
    const overview = await q.overview();
    expect(overview.lanes.find((l) => l.lane === 'normal')?.size).toBe(12);
    expect(overview.totals.enqueued).toBe(12);
    expect(overview.hosts.map((h) => h.id)).toEqual(['h']);
    expect((await q.listWaiting('normal', 0, 100)).total).toBe(12);
  });

  it('a search walks every shard with a composite cursor', async () => {
    const q = fresh(3);
    const ids = (await q.enqueue(specs(squares(40)))).map((r) => r.id);
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = await q.searchTasks({ limit: 7, ...(cursor ? { cursor } : {}) });
      for (const t of page.tasks) seen.add(t.id);
      if (page.cursor === null) break;
      cursor = page.cursor;
    }
    expect([...seen].sort()).toEqual([...ids].sort());
    await expect(q.searchTasks({ cursor: 'garbage' })).rejects.toThrow(/cursor/);
  });
});
