/**
 * The engine on a 3-master Redis Cluster, through the connections the worker host opens
 * (`connectRedis` with a `redis+cluster://` URL): every key of a queue lives on the master of
 * the queue's slot; enqueue, claim and finish run there; a script the cluster forgot is sent
 * again (NOSCRIPT → EVAL); the dedicated blocking connection wakes on an enqueue; a cluster
 * where nothing answers fails a command fast (and the start-up probe says so). Real servers, nothing mocked.
 */
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { toRunnable } from '../../worker-host/engine/claimed-task.js';
import { HostScripts } from '../../worker-host/engine/host-scripts.js';
import { connectRedis } from '../../worker-host/redis/connect.js';
import { redisAnswers } from '../../worker-host/redis/probe.js';
import { freePort } from '../support/ports.js';
import { clusterSuite } from './harness.js';

const suite = clusterSuite('cluster-engine');

/** Every key under `pattern` on the node at `port` (SCAN on that node). */
async function keysOn(node: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

describe('the engine on a Redis Cluster', () => {
  it('enqueue, claim and finish through the host’s connection; every key on the slot’s master', async () => {
    const [id] = await suite.enqueueIds([{ type: 'sleep', payload: { ms: 1 } }]);
    if (!id) throw new Error('no id');
    const scripts = new HostScripts(suite.redis, suite.keys, 'host-a');
    await scripts.load();
    await scripts.register(10_000, { test: true }, ['t1']);
    const claimed = await scripts.claim(['t1'], 5_000, 'hnl');
    expect(claimed.tasks.map((t) => t.id)).toEqual([id]);
    const task = claimed.tasks[0];
    if (!task) throw new Error('nothing claimed');
    expect(await suite.queue.getTask(id)).toMatchObject({ state: 'active' });
    const { lease } = toRunnable(task.id, task.fields);
    const finished = await scripts.finish(
      [{ token: task.token, id, lease, kind: 'ok', resultJson: '"done"' }],
      { free: true },
    );
    expect(finished.outcomes).toEqual(['succeeded']);
    expect(await suite.queue.getTask(id)).toMatchObject({ state: 'succeeded', result: 'done' });
    expect(await suite.queue.stats()).toMatchObject({ succeeded: 1, active: 0 });

    // All of the queue's keys sit on one master: the one serving the hash tag's slot.
    const home = await suite.cluster.masterOf(suite.keys.stats);
    for (const { port } of suite.cluster.nodes) {
      const node = suite.cluster.node(port);
      try {
        const keys = await keysOn(node, `${suite.namespace}:*`);
        if (port === home) expect(keys).toContain(suite.keys.task(id));
        else expect(keys).toEqual([]);
      } finally {
        node.disconnect();
      }
    }
    await scripts.unregister();
  });

  it('a script the cluster forgot (SCRIPT FLUSH on every node) is sent again with EVAL', async () => {
    const scripts = new HostScripts(suite.redis, suite.keys, 'host-b');
    await scripts.load();
    await scripts.register(10_000, {}, ['t1']);
    for (const { port } of suite.cluster.nodes) {
      const node = suite.cluster.node(port);
      await node.script('FLUSH');
      node.disconnect();
    }
    const [id] = await suite.enqueueIds([{ type: 'sleep', payload: { ms: 1 } }]);
    const claimed = await scripts.claim(['t1'], 5_000, 'hnl');
    expect(claimed.tasks.map((t) => t.id)).toEqual([id]);
    await scripts.unregister();
  });

  it('the blocking connection’s BLPOP on the signal and wake lists wakes on an enqueue', async () => {
    const blocking = connectRedis(suite.url, { name: 'test:wait', blocking: true });
    try {
      // Drain any marker a previous enqueue left.
      await suite.redis.del(suite.keys.signal);
      const started = Date.now();
      const waiting = blocking.blpop(suite.keys.signal, suite.keys.wake('host-c'), '5');
      await new Promise((resolve) => setTimeout(resolve, 200));
      await suite.enqueueIds([{ type: 'sleep', payload: { ms: 1 } }]);
      expect(await waiting).toEqual([suite.keys.signal, '1']);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      blocking.disconnect();
    }
  });

  it('a cluster where nothing answers: a command fails within seconds, not never', async () => {
    const url = `redis+cluster://127.0.0.1:${await freePort()},127.0.0.1:${await freePort()}`;
    expect(await redisAnswers(suite.url)).toBe(true);
    expect(await redisAnswers(url)).toBe(false);
    const errors: Error[] = [];
    const redis = connectRedis(url, { name: 'test:nowhere', onError: (e) => errors.push(e) });
    const started = Date.now();
    try {
      await expect(redis.get(`${suite.namespace}:x`)).rejects.toThrow(/max retries/);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });
});
