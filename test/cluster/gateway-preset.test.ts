/**
 * The `forklift` preset on a Redis Cluster: every `QueueClient` operation (what the edge runs)
 * over the edge's own transport (@upstash/redis: EVALSHA, EVAL on NOSCRIPT) through a gateway
 * with `FORKLIFT_GATEWAY_ALLOW=forklift` in front of a private 3-master cluster; the scripts'
 * keys share the queue's hash tag, so each runs on the master of the queue's slot. A worker host
 * on the same cluster runs what was enqueued through the gateway. Nothing mocked.
 */
import { expect, it } from 'vitest';
import { createRedis, upstashTransport } from '../../edge/upstash-transport.js';
import { prepareBatch, prepareEnqueue } from '../../shared/enqueue-request.js';
import { QueueClient } from '../../shared/queue-client.js';
import { tasks } from '../../shared/tasks/index.js';
import { fixtureTasks } from '../fixtures/handlers.js';
import { startTestGateway } from '../support/gateway.js';
import { waitFor } from '../support/redis.js';
import { clusterSuite } from './harness.js';

const suite = clusterSuite('cluster-gw-preset');

function spec(input: Record<string, unknown>) {
  const prepared = prepareEnqueue(tasks, { type: 'square', payload: { x: 2 }, ...input });
  if (!prepared.ok) throw new Error(JSON.stringify(prepared.issues));
  return prepared.spec;
}

it('runs every QueueClient operation through the preset, on the queue slot’s master', async () => {
  const gw = await startTestGateway({ redisUrl: suite.url, allow: 'forklift' });
  try {
    const redis = createRedis({ url: gw.url, token: gw.token, timeoutMs: 5_000 });
    const queue = new QueueClient(upstashTransport(redis), { namespace: suite.namespace });
    const [now, later] = await queue.enqueue([spec({}), spec({ delaySeconds: 600 })]);
    expect(now).toMatchObject({ state: 'queued', duplicate: false });
    expect(later).toMatchObject({ state: 'delayed', duplicate: false });
    // The direct cluster connection (the host's) sees what the gateway wrote.
    expect(await suite.queue.getTask(now?.id ?? '')).toMatchObject({ state: 'queued' });
    expect(await queue.getTask(now?.id ?? '')).toMatchObject({ id: now?.id, state: 'queued' });
    expect(await queue.cancel(later?.id ?? '')).toEqual({ outcome: 'canceled' });
    expect(await queue.getTask('no-such-task')).toBeNull();
    expect(await queue.stats()).toMatchObject({ lanes: { normal: 1 }, canceled: 1 });
    expect(await queue.listDead()).toEqual({ total: 0, tasks: [] });
    expect(await queue.retryDead(['no-such-task'])).toEqual({
      retried: 0,
      notDead: ['no-such-task'],
    });
    expect(await queue.overview()).toMatchObject({
      lanes: [{ size: 0 }, { size: 1 }, { size: 0 }],
    });
    const keyed = await queue.enqueue([spec({ idempotencyKey: 'preset-key', delaySeconds: 600 })]);
    expect(await queue.findByIdempotencyKey('preset-key')).toMatchObject({ id: keyed[0]?.id });
    expect(await queue.runNow(keyed[0]?.id ?? '')).toEqual({ outcome: 'queued' });
    expect(await queue.deadPage({}, 0, 10)).toEqual({ total: 0, tasks: [] });
  } finally {
    await gw.close();
    await suite.clear();
  }
});

it('a worker host on the cluster runs the tasks enqueued through the gateway', async () => {
  const gw = await startTestGateway({ redisUrl: suite.url, allow: 'forklift' });
  try {
    const redis = createRedis({ url: gw.url, token: gw.token, timeoutMs: 5_000 });
    const queue = new QueueClient(upstashTransport(redis), { namespace: suite.namespace });
    const prepared = prepareBatch(
      fixtureTasks,
      [1, 2, 3].map((i) => ({ type: 'sleep', payload: { ms: i } })),
    );
    if (!prepared.ok) throw new Error(JSON.stringify(prepared.issues));
    const ids = (await queue.enqueue(prepared.specs)).map((r) => r.id);
    await suite.startHost({ concurrency: 2 });
    for (const id of ids) {
      await waitFor(async () => (await queue.getTask(id))?.state === 'succeeded', {
        what: `task ${id} to succeed`,
        timeoutMs: 15_000,
      });
    }
    expect(await queue.stats()).toMatchObject({ succeeded: 3 });
  } finally {
    await gw.close();
    await suite.clear();
  }
});
