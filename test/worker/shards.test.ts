/**
 * Worker hosts on a sharded queue (K = 3) on one Redis: every task runs exactly once, strict
 * priority holds across the shards, and a host whose shard count differs from the queue's does
 * not start.
 */
import { describe, expect, it } from 'vitest';
import { prepareBatch } from '../../shared/enqueue-request.js';
import { QueueClient } from '../../shared/queue-client.js';
import { shardOfId } from '../../shared/shards.js';
import { ioredisTransport } from '../../worker-host/redis/ioredis-transport.js';
import { fixtureTasks } from '../fixtures/handlers.js';
import { readRecords, workerSuite } from './harness.js';

const suite = workerSuite('shards');
const sharded = new QueueClient(ioredisTransport(suite.redis), {
  namespace: suite.namespace,
  shards: 3,
});

async function enqueue(requests: readonly unknown[]): Promise<string[]> {
  const prepared = prepareBatch(fixtureTasks, requests);
  if (!prepared.ok) throw new Error(JSON.stringify(prepared.issues));
  return (await sharded.enqueue(prepared.specs)).map((r) => r.id);
}

async function waitForDone(ids: readonly string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const stats = await sharded.stats();
    if (stats.succeeded >= ids.length) return;
    if (Date.now() > deadline) throw new Error(`only ${stats.succeeded} of ${ids.length} ran`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('worker hosts on a sharded queue (one Redis)', () => {
  it('two hosts of 3 shards run 600 tasks, each exactly once', async () => {
    const file = suite.logFile();
    const ids = await enqueue(
      Array.from({ length: 600 }, (_, i) => ({ type: 'record', payload: { file, tag: `t${i}` } })),
    );
    expect(new Set(ids.map((id) => shardOfId(3, id))).size).toBe(3);
    await suite.startHost({ shards: 3, concurrency: 2 });
    await suite.startHost({ shards: 3, concurrency: 2, prefetch: 2 });
    await waitForDone(ids);
    const runs = readRecords(file).map((r) => r.id);
    expect(runs).toHaveLength(600);
    expect(new Set(runs)).toEqual(new Set(ids));
    expect(await sharded.stats()).toMatchObject({ succeeded: 600, active: 0 });
  });

  it('strict priority across shards: every high task, then normal, then low', async () => {
    const file = suite.logFile();
    const plan = ['low', 'normal', 'high'].flatMap((p) => Array(9).fill(p) as string[]);
    const ids = await enqueue(
      plan.map((priority) => ({ type: 'record', priority, payload: { file, tag: priority } })),
    );
    await suite.startHost({ shards: 3, concurrency: 1 });
    await waitForDone(ids);
    const order = readRecords(file).map((r) => r.tag);
    expect(order).toEqual([
      ...Array(9).fill('high'),
      ...Array(9).fill('normal'),
      ...Array(9).fill('low'),
    ]);
  });

  it('a host of another shard count does not start, naming the count', async () => {
    // A new client: the namespace is emptied between tests, and a client records its shard
    // count in the plain queue's stats once in its life.
    const producer = new QueueClient(ioredisTransport(suite.redis), {
      namespace: suite.namespace,
      shards: 3,
    });
    const prepared = prepareBatch(fixtureTasks, [
      { type: 'record', payload: { file: suite.logFile(), tag: 'x' } },
    ]);
    if (!prepared.ok) throw new Error('invalid');
    await producer.enqueue(prepared.specs);
    await expect(suite.startHost({ shards: 2, concurrency: 1 })).rejects.toThrow(
      /declared with 3 shard\(s\), but this client uses 2: set FORKLIFT_SHARDS=3/,
    );
    await expect(suite.startHost({ concurrency: 1 })).rejects.toThrow(
      /declared with 3 shard\(s\), but this client uses 1/,
    );
  });
});
