/**
 * The whole path: a producer calls the edge Worker (workerd) → the REST gateway → Redis, and a
 * worker host in this test process runs what the edge enqueued. The edge then reports the result.
 * The gateway runs with `FORKLIFT_GATEWAY_ALLOW=forklift`, as recommended for production: every
 * edge route passing here proves the preset holds all the edge needs.
 */
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startWorkerHost, type WorkerHost } from '../../worker-host/host.js';
import { edgeBindings, startTestEdge, type TestEdge } from '../support/edge.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import {
  deleteNamespace,
  TEST_REDIS_URL,
  testNamespace,
  testRedis,
  waitFor,
} from '../support/redis.js';

const namespace = testNamespace('edge-e2e');
let gateway: TestGateway;
let edge: TestEdge;
let host: WorkerHost;
let redis: Redis;

beforeAll(async () => {
  redis = testRedis();
  gateway = await startTestGateway({ allow: 'forklift' });
  edge = await startTestEdge({ bindings: edgeBindings(gateway, { namespace }) });
  host = await startWorkerHost({
    redisUrl: TEST_REDIS_URL,
    queue: 'default',
    namespace,
    concurrency: 1,
    logger: pino({ level: process.env.FORKLIFT_TEST_LOG_LEVEL ?? 'silent' }),
  });
});
afterAll(async () => {
  await host?.close({ graceMs: 1_000 });
  await edge?.dispose();
  await gateway?.close();
  await deleteNamespace(redis, namespace);
  redis.disconnect();
});

/** Polls `GET /v1/tasks/:id` until the task is finished. */
async function finished(id: string) {
  return waitFor(
    async () => {
      const { body } = await edge.api('GET', `/v1/tasks/${id}`);
      return ['succeeded', 'dead', 'canceled'].includes(body.state) ? body : null;
    },
    { what: `task ${id} to finish`, timeoutMs: 20_000 },
  );
}

test('enqueue → processed by a worker host → GET shows succeeded with the result', async () => {
  const res = await edge.api('POST', '/v1/tasks', { body: { type: 'square', payload: { x: 12 } } });
  expect(res.status).toBe(202);
  const task = await finished(res.body.id);
  expect(task).toMatchObject({
    id: res.body.id,
    state: 'succeeded',
    result: 144,
    attempts: 1,
    error: null,
    startedAt: expect.any(String),
    finishedAt: expect.any(String),
  });
});

test('a batch is processed in full; stats count it', async () => {
  const tasks = [1, 2, 3, 4, 5].map((x) => ({ type: 'square', payload: { x } }));
  const res = await edge.api('POST', '/v1/tasks/batch', { body: { tasks } });
  expect(res.status).toBe(202);
  const results = [];
  for (const { id } of res.body.tasks) results.push((await finished(id)).result);
  expect(results).toEqual([1, 4, 9, 16, 25]);
  const stats = await edge.api('GET', '/v1/stats');
  expect(stats.body).toMatchObject({
    succeeded: 6,
    active: 0,
    lanes: { high: 0, normal: 0, low: 0 },
  });
});

test('a delayed task is canceled through the edge', async () => {
  const res = await edge.api('POST', '/v1/tasks', {
    body: { type: 'square', payload: { x: 3 }, delaySeconds: 600 },
  });
  expect(res).toMatchObject({ status: 202, body: { state: 'delayed' } });
  expect(await edge.api('DELETE', `/v1/tasks/${res.body.id}`)).toMatchObject({
    status: 200,
    body: { id: res.body.id, state: 'canceled' },
  });
  expect((await edge.api('GET', `/v1/tasks/${res.body.id}`)).body).toMatchObject({
    state: 'canceled',
  });
});
