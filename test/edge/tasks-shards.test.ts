/**
 * The edge on a sharded queue (FORKLIFT_SHARDS=3): the Worker in workerd → the REST gateway →
 * the local Redis. Tasks spread over the shards, ids name their shard (and are URL-safe),
 * look-ups and cancel by id reach it, a batch touches each shard once, stats sum the shards, and
 * an edge whose count differs from the queue's answers 503 not_configured.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { shardOfId } from '../../shared/shards.js';
import { edgeBindings, startTestEdge, type TestEdge } from '../support/edge.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deleteNamespace, testNamespace, testRedis } from '../support/redis.js';

const namespace = testNamespace('edge-shards');
let gateway: TestGateway;
let edge: TestEdge;
let edgeOfTwo: TestEdge;
let redis: Redis;

const square = (x: number, extra: Record<string, unknown> = {}) => ({
  type: 'square',
  payload: { x },
  ...extra,
});

beforeAll(async () => {
  redis = testRedis();
  gateway = await startTestGateway();
  edge = await startTestEdge({
    bindings: edgeBindings(gateway, { namespace, extra: { FORKLIFT_SHARDS: '3' } }),
    countOutbound: true,
  });
  edgeOfTwo = await startTestEdge({
    bindings: edgeBindings(gateway, { namespace, extra: { FORKLIFT_SHARDS: '2' } }),
  });
});
afterAll(async () => {
  await edge?.dispose();
  await edgeOfTwo?.dispose();
  await gateway?.close();
  await deleteNamespace(redis, namespace);
  redis.disconnect();
});

describe('the edge on a sharded queue', () => {
  test('a task names its shard; GET, DELETE by id; the id is URL-safe', async () => {
    const res = await edge.api('POST', '/v1/tasks', { body: square(3) });
    expect(res.status).toBe(202);
    const id = res.body.id as string;
    expect(shardOfId(3, id)).toBeGreaterThanOrEqual(0);
    expect(id).toMatch(/^[0-9a-f-]{36}\.s[0-2]$/);
    expect(res.headers.get('Location')).toBe(`/v1/tasks/${id}`);
    expect(await redis.exists(`${namespace}:{default#${shardOfId(3, id)}}:task:${id}`)).toBe(1);
    const got = await edge.api('GET', `/v1/tasks/${encodeURIComponent(id)}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id, state: 'queued' });
    const canceled = await edge.api('DELETE', `/v1/tasks/${encodeURIComponent(id)}`);
    expect(canceled.status).toBe(200);
  });

  test('a batch spreads over the shards, one store call per shard touched; stats sum them', async () => {
    const tasks = Array.from({ length: 30 }, (_, x) => square(x));
    const before = edge.outbound.length;
    const res = await edge.api('POST', '/v1/tasks/batch', { body: { tasks } });
    expect(res.status).toBe(202);
    const ids = (res.body.tasks as { id: string }[]).map((t) => t.id);
    expect(new Set(ids.map((id) => shardOfId(3, id))).size).toBe(3);
    expect(edge.outbound.length - before).toBe(3);
    const stats = await edge.api('GET', '/v1/stats');
    expect(stats.status).toBe(200);
    expect(stats.body.lanes.normal).toBe(30);
    expect(stats.body.canceled).toBe(1);
  });

  test('an edge whose FORKLIFT_SHARDS differs from the queue’s answers 503, writing nothing', async () => {
    const res = await edgeOfTwo.api('POST', '/v1/tasks', { body: square(1) });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('not_configured');
    expect(res.body.error.message).toContain('declared with 3 shard(s), but this client uses 2');
    expect((await edge.api('GET', '/v1/stats')).body.lanes.normal).toBe(30);
  });
});
