/**
 * A failover of the master holding the queue's slot, with tasks flowing: a cluster of 3
 * masters and 3 replicas (cluster-node-timeout 1 s), a worker host of 2 children running
 * tasks while a producer enqueues more, and `CLUSTER FAILOVER` on the replica of the queue's
 * master. The host's connections (its commands, its BLPOP, each child's) move to the new
 * master; every task enqueued succeeds, and each ran exactly once. Real servers and
 * processes, nothing mocked.
 *
 * A manual failover is graceful: the replica takes over once it has every write the master
 * acknowledged. When a master dies instead, Redis Cluster's replication is asynchronous and the
 * writes of its last moments may be lost with it (see docs/architecture.md, "Scaling").
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../support/redis.js';
import { clusterSuite, readRecords } from './harness.js';

const suite = clusterSuite('cluster-failover', {
  masters: 3,
  replicasPerMaster: 1,
  nodeTimeoutMs: 1_000,
});

const TASKS = 200;

afterEach(() => suite.clear());

/**
 * Enqueues TASKS record tasks, 10 every 30 ms; a call that fails is sent again with the same
 * idempotency keys, so a retried call cannot add a task twice. Resolves the ids and the number
 * of calls sent again.
 */
async function produce(file: string): Promise<{ ids: Set<string>; retries: number }> {
  const ids = new Set<string>();
  let retries = 0;
  for (let batch = 0; batch < TASKS / 10; batch++) {
    const requests = Array.from({ length: 10 }, (_, i) => {
      const tag = `t${batch * 10 + i}`;
      return { type: 'record', payload: { file, tag }, idempotencyKey: tag };
    });
    for (;;) {
      try {
        for (const id of await suite.enqueueIds(requests)) ids.add(id);
        break;
      } catch {
        retries++;
        await sleep(100);
      }
    }
    await sleep(30);
  }
  return { ids, retries };
}

describe('failover of the queue’s master', () => {
  it('CLUSTER FAILOVER while tasks flow: every task runs, exactly once', async () => {
    const file = suite.logFile();
    await suite.startHost({ concurrency: 2, leaseMs: 3_000 });
    const master = await suite.cluster.masterOf(suite.keys.stats);
    const replica = await suite.cluster.replicaOf(master);

    const producing = produce(file);
    await waitFor(() => readRecords(file).length >= 30, { what: 'tasks to run' });
    const node = suite.cluster.node(replica);
    try {
      expect(await node.cluster('FAILOVER')).toBe('OK');
    } finally {
      node.disconnect();
    }
    await waitFor(async () => (await suite.cluster.masterOf(suite.keys.stats)) === replica, {
      what: `the replica on port ${replica} to serve the queue's slot`,
    });
    const { ids, retries } = await producing;
    expect(ids.size).toBe(TASKS);
    const views = await suite.waitForAll([...ids], 'succeeded', 60_000);
    expect(views).toHaveLength(TASKS);
    const tags = readRecords(file).map((r) => r.tag);
    expect(tags).toHaveLength(TASKS);
    expect(new Set(tags).size).toBe(TASKS);
    expect(await suite.queue.stats()).toMatchObject({ succeeded: TASKS, active: 0, dead: 0 });
    console.log(`CLUSTER FAILOVER: ${retries} enqueue call(s) sent again by the producer`);
  }, 90_000);

  it('kill -9 of the master: its replica takes over, every task runs', async () => {
    const file = suite.logFile();
    await suite.startHost({ concurrency: 2, leaseMs: 3_000 });
    const master = await suite.cluster.masterOf(suite.keys.stats);
    const replica = await suite.cluster.replicaOf(master);
    const producing = produce(file);
    await waitFor(() => readRecords(file).length >= 30, { what: 'tasks to run' });
    const killedAt = Date.now();
    await suite.cluster.nodes.find((n) => n.port === master)?.kill();
    await waitFor(async () => (await suite.cluster.masterOf(suite.keys.stats)) === replica, {
      what: `the replica on port ${replica} to take over the queue's slot`,
    });
    const tookOverMs = Date.now() - killedAt;
    const { ids, retries } = await producing;
    expect(ids.size).toBe(TASKS);
    // Replication is asynchronous: a write the dead master acknowledged in its last moment
    // may be lost with it; on one machine the replica is never that far behind.
    const views = await suite.waitForAll([...ids], 'succeeded', 60_000);
    expect(views).toHaveLength(TASKS);
    const tags = readRecords(file).map((r) => r.tag);
    expect(new Set(tags).size).toBe(TASKS);
    console.log(
      `kill -9: the replica took over in ${tookOverMs} ms; ${retries} enqueue call(s) sent again; ${tags.length - TASKS} task(s) ran twice`,
    );
  }, 90_000);
});
