/**
 * The operator routes (the dashboard's JSON) in workerd, behind the gateway's `forklift` preset,
 * against the real Redis: overview, search and key lookup, waiting lists, run-now, dead-letter
 * pages and actions (by id and matching a filter), validation 400s naming the field, and read-only
 * tokens, which may GET but are refused every other method with 403 before any store request.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BULK_CHUNK, DEAD_IDS_MAX } from '../../shared/scripts/index.js';
import { EngineQueue } from '../engine/harness.js';
import { edgeBindings, startTestEdge, type TestEdge } from '../support/edge.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deleteNamespace, sleep, testNamespace, testRedis } from '../support/redis.js';

const namespace = testNamespace('edge-operator');
const READ_TOKEN = 'read-only-token-0123456789abcdef';
let gateway: TestGateway;
let edge: TestEdge;
let redis: Redis;
let engine: EngineQueue;

beforeAll(async () => {
  redis = testRedis();
  engine = new EngineQueue(redis, namespace, 'default');
  gateway = await startTestGateway({ allow: 'forklift' });
  edge = await startTestEdge({
    bindings: edgeBindings(gateway, {
      namespace,
      extra: { FORKLIFT_API_READONLY_TOKENS: `other-reader-abcdefghijklmnop,${READ_TOKEN}` },
    }),
    countOutbound: true,
  });
});
afterAll(async () => {
  await edge?.dispose();
  await gateway?.close();
  await deleteNamespace(redis, namespace);
  redis.disconnect();
});

/** Store requests made by the Worker during `run`. */
async function roundTrips(run: () => Promise<unknown>): Promise<number> {
  const before = edge.outbound.length;
  await run();
  return edge.outbound.length - before;
}

/** Enqueues a task through the API; resolves its id. */
async function enqueue(body: Record<string, unknown> = {}): Promise<string> {
  const res = await edge.api('POST', '/v1/tasks', {
    body: { type: 'square', payload: { x: 2 }, ...body },
  });
  expect(res.status).toBe(202);
  return res.body.id;
}

/** Enqueues and kills a task (claim, then a 'fatal' finish by a host of the test's own). */
async function kill(body: Record<string, unknown> = {}): Promise<string> {
  const id = await enqueue({ priority: 'high', ...body });
  await engine.registerHost('killer', ['t']);
  const low = body.priority === 'low';
  // Other tests' tasks may wait in the lane: put this one at its head.
  const lane = low ? engine.keys.laneLow : engine.keys.laneHigh;
  await redis.lrem(lane, 1, id);
  await redis.lpush(lane, id);
  const { tasks } = await engine.claim('killer', ['t'], { order: low ? 'l' : 'h' });
  expect(tasks.map((t) => t.id)).toEqual([id]);
  await engine.finish(
    'killer',
    [{ token: 't', id, lease: await engine.lease(id), kind: 'fatal' }],
    {
      mode: 'free',
    },
  );
  return id;
}

/** The issue paths of a 400 answer. */
function paths(res: { status: number; body: { error: { code: string; details?: unknown } } }) {
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe('invalid_request');
  return (res.body.error.details as { issues: { path: string }[] }).issues.map((i) => i.path);
}

describe('GET /v1/overview', () => {
  test('answers the overview in one store round trip', async () => {
    await enqueue();
    await edge.api('GET', '/v1/overview');
    let res = await edge.api('GET', '/v1/overview');
    expect(await roundTrips(async () => (res = await edge.api('GET', '/v1/overview')))).toBe(1);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      queue: 'default',
      now: expect.any(Number),
      lanes: [
        { lane: 'high', size: expect.any(Number) },
        { lane: 'normal', size: expect.any(Number) },
        { lane: 'low', size: 0, oldestWaitMs: null },
      ],
      totals: { enqueued: expect.any(Number) },
      hosts: expect.any(Array),
    });
    expect(res.body.lanes[1].oldestWaitMs).toEqual(expect.any(Number));
    expect(res.body.history.length).toBeGreaterThanOrEqual(1);
  });
});

describe('GET /v1/tasks', () => {
  test('searches by type, state and time (ms or ISO 8601), paging with the cursor', async () => {
    const from = Date.now() - 1;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await enqueue({ payload: { x: i }, delaySeconds: i === 0 ? 600 : 0 }));
      await sleep(2);
    }
    const first = await edge.api('GET', `/v1/tasks?type=square&from=${from}&limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.tasks.map((t: { id: string }) => t.id)).toEqual([ids[2], ids[1]]);
    const next = await edge.api(
      'GET',
      `/v1/tasks?type=square&from=${new Date(from).toISOString()}&limit=2&cursor=${encodeURIComponent(first.body.cursor)}`,
    );
    expect(next.body).toEqual({ tasks: [expect.objectContaining({ id: ids[0] })], cursor: null });
    const delayed = await edge.api('GET', `/v1/tasks?state=delayed&from=${from}`);
    expect(delayed.body.tasks.map((t: { id: string }) => t.id)).toEqual([ids[0]]);
    expect(delayed.body.tasks[0]).toMatchObject({ state: 'delayed', runAt: expect.any(String) });
    const none = await edge.api('GET', `/v1/tasks?to=${from}&from=${from - 1}`);
    expect(none.body).toEqual({ tasks: [], cursor: null });
  });

  test('finds a task by idempotency key', async () => {
    const id = await enqueue({ idempotencyKey: 'order-77' });
    const res = await edge.api('GET', '/v1/tasks?key=order-77');
    expect(res.body).toEqual({
      tasks: [expect.objectContaining({ id, idempotencyKey: 'order-77' })],
      cursor: null,
    });
    expect((await edge.api('GET', '/v1/tasks?key=order-78')).body).toEqual({
      tasks: [],
      cursor: null,
    });
  });

  test('answers 400 naming the field', async () => {
    expect(paths(await edge.api('GET', '/v1/tasks?from=yesterday'))).toEqual(['from']);
    expect(paths(await edge.api('GET', '/v1/tasks?to=2026-13-45T00:00:00Z'))).toEqual(['to']);
    expect(paths(await edge.api('GET', '/v1/tasks?state=sleeping'))).toEqual(['state']);
    expect(paths(await edge.api('GET', '/v1/tasks?limit=0'))).toEqual(['limit']);
    expect(paths(await edge.api('GET', '/v1/tasks?limit=1000'))).toEqual(['limit']);
    expect(paths(await edge.api('GET', '/v1/tasks?cursor=nonsense'))).toEqual(['cursor']);
    expect(paths(await edge.api('GET', '/v1/tasks?key=k&type=square'))).toEqual(['key']);
    expect(paths(await edge.api('GET', '/v1/tasks?colour=blue'))).toEqual(['colour']);
  });
});

describe('GET /v1/waiting/{list} and POST /v1/tasks/{id}/run-now', () => {
  test('pages a lane and the delayed set; runs a delayed task now (200, 404, 409)', async () => {
    const delayed = await enqueue({ priority: 'low', delaySeconds: 3600 });
    const page = await edge.api('GET', '/v1/waiting/delayed?count=500');
    expect(page.status).toBe(200);
    expect(page.body.tasks.map((t: { id: string }) => t.id)).toContain(delayed);
    const run = await edge.api('POST', `/v1/tasks/${delayed}/run-now`);
    expect(run).toMatchObject({ status: 200, body: { id: delayed, state: 'queued' } });
    // Re-sent: the same answer.
    expect((await edge.api('POST', `/v1/tasks/${delayed}/run-now`)).status).toBe(200);
    const low = await edge.api('GET', '/v1/waiting/low?offset=0&count=10');
    expect(low.body.tasks.map((t: { id: string }) => t.id)).toContain(delayed);
    expect(low.body.total).toBeGreaterThanOrEqual(1);

    const missing = await edge.api('POST', '/v1/tasks/no-such-task/run-now');
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    const dead = await kill();
    const conflict = await edge.api('POST', `/v1/tasks/${dead}/run-now`);
    expect(conflict).toMatchObject({
      status: 409,
      body: { error: { code: 'conflict', details: { id: dead, state: 'dead' } } },
    });
  });

  test('answers 400 for an unknown list or a bad page', async () => {
    expect(paths(await edge.api('GET', '/v1/waiting/active'))).toEqual(['list']);
    expect(paths(await edge.api('GET', '/v1/waiting/high?count=501'))).toEqual(['count']);
    expect(paths(await edge.api('GET', '/v1/waiting/high?offset=-1'))).toEqual(['offset']);
  });
});

describe('/v1/dead', () => {
  test('pages dead letters by type and time; retries and deletes them by id', async () => {
    const start = Date.now() - 1;
    const a = await kill({ payload: { x: 1 } });
    await sleep(2);
    const b = await kill({ payload: { x: 2 } });
    const page = await edge.api('GET', `/v1/dead?type=square&from=${start}`);
    expect(page.status).toBe(200);
    expect(page.body.tasks.map((t: { id: string }) => t.id)).toEqual([b, a]);
    expect(page.body.tasks[0]).toMatchObject({ state: 'dead', error: 'boom' });
    expect(page.body.total).toBe(2);
    expect((await edge.api('GET', `/v1/dead?type=other&from=${start}`)).body.tasks).toEqual([]);

    const retried = await edge.api('POST', '/v1/dead/retry', { body: { ids: [a, 'nope'] } });
    expect(retried.body).toEqual({ retried: 1, notDead: ['nope'] });
    const deleted = await edge.api('POST', '/v1/dead/delete', { body: { ids: [b] } });
    expect(deleted.body).toEqual({ deleted: 1, notDead: [] });
    expect((await edge.api('GET', `/v1/tasks/${b}`)).status).toBe(404);
    expect((await edge.api('GET', `/v1/tasks/${a}`)).body.state).toBe('queued');
  });

  test('retries and deletes all matching a filter, a chunk per call', async () => {
    const start = Date.now() - 1;
    const ids = [await kill(), await kill(), await kill()];
    const retry = await edge.api('POST', '/v1/dead/retry-matching', {
      body: { filter: { type: 'square', from: new Date(start).toISOString() }, cursor: null },
    });
    expect(retry.body).toEqual({ processed: 3, done: true, cursor: null });
    for (const id of ids)
      expect((await edge.api('GET', `/v1/tasks/${id}`)).body.state).toBe('queued');
    // The retried tasks wait in the high lane: these die from the low one.
    const more = [await kill({ priority: 'low' }), await kill({ priority: 'low' })];
    const del = await edge.api('POST', '/v1/dead/delete-matching', {
      body: { filter: { from: start }, cursor: null },
    });
    expect(del.body).toEqual({ processed: 2, done: true, cursor: null });
    for (const id of more) expect((await edge.api('GET', `/v1/tasks/${id}`)).status).toBe(404);
    expect(BULK_CHUNK).toBe(200);
  });

  test('answers 400 naming the field', async () => {
    expect(paths(await edge.api('GET', '/v1/dead?from=soon'))).toEqual(['from']);
    expect(paths(await edge.api('POST', '/v1/dead/retry', { body: { ids: [] } }))).toEqual(['ids']);
    const many = Array.from({ length: DEAD_IDS_MAX + 1 }, (_, i) => `id-${i}`);
    expect(paths(await edge.api('POST', '/v1/dead/delete', { body: { ids: many } }))).toEqual([
      'ids',
    ]);
    expect(paths(await edge.api('POST', '/v1/dead/delete', { body: { ids: ['a b'] } }))).toEqual([
      'ids.0',
    ]);
    expect(
      paths(
        await edge.api('POST', '/v1/dead/retry-matching', {
          body: { filter: { to: 'later' }, cursor: null },
        }),
      ),
    ).toEqual(['filter.to']);
    expect(
      paths(
        await edge.api('POST', '/v1/dead/delete-matching', {
          body: { filter: {}, cursor: 'bogus' },
        }),
      ),
    ).toEqual(['cursor']);
    expect(
      paths(await edge.api('POST', '/v1/dead/retry-matching', { body: { filter: {} } })),
    ).toEqual(['cursor']);
  });
});

describe('read-only tokens', () => {
  const unsafe: [string, string, unknown?][] = [
    ['POST', '/v1/tasks', { type: 'square', payload: { x: 1 } }],
    ['POST', '/v1/tasks/batch', { tasks: [{ type: 'square', payload: { x: 1 } }] }],
    ['DELETE', '/v1/tasks/some-id'],
    ['POST', '/v1/tasks/some-id/run-now'],
    ['POST', '/v1/dead/retry', { ids: ['x'] }],
    ['POST', '/v1/dead/delete', { ids: ['x'] }],
    ['POST', '/v1/dead/retry-matching', { filter: {}, cursor: null }],
    ['POST', '/v1/dead/delete-matching', { filter: {}, cursor: null }],
  ];

  test('may call every GET route', async () => {
    for (const path of [
      '/v1/overview',
      '/v1/stats',
      '/v1/tasks?limit=1',
      '/v1/tasks?key=k',
      '/v1/waiting/normal',
      '/v1/dead',
    ]) {
      const res = await edge.api('GET', path, { token: READ_TOKEN });
      expect(res.status, path).toBe(200);
    }
    const id = await enqueue();
    expect((await edge.api('GET', `/v1/tasks/${id}`, { token: READ_TOKEN })).status).toBe(200);
  });

  test('are refused every other route with 403 forbidden, before any store request', async () => {
    for (const [method, path, body] of unsafe) {
      let res: Awaited<ReturnType<TestEdge['api']>> | undefined;
      const trips = await roundTrips(async () => {
        res = await edge.api(method, path, { token: READ_TOKEN, body });
      });
      expect(res?.status, `${method} ${path}`).toBe(403);
      expect(res?.body.error.code).toBe('forbidden');
      expect(trips, `${method} ${path}`).toBe(0);
    }
  });

  test('an unknown token is still 401', async () => {
    expect((await edge.api('GET', '/v1/overview', { token: 'not-a-token-at-all' })).status).toBe(
      401,
    );
  });
});

test('/openapi.json documents the operator routes, their query parameters and 403', async () => {
  const doc = (await edge.api('GET', '/openapi.json', { token: null })).body;
  for (const [path, method] of [
    ['/v1/overview', 'get'],
    ['/v1/tasks', 'get'],
    ['/v1/waiting/{list}', 'get'],
    ['/v1/dead', 'get'],
    ['/v1/dead/retry', 'post'],
    ['/v1/dead/delete', 'post'],
    ['/v1/dead/retry-matching', 'post'],
    ['/v1/dead/delete-matching', 'post'],
    ['/v1/tasks/{id}/run-now', 'post'],
  ] as const) {
    expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
  }
  const search = doc.paths['/v1/tasks'].get.parameters.map((p: { name: string; in: string }) => [
    p.name,
    p.in,
  ]);
  expect(search).toEqual(
    ['type', 'state', 'from', 'to', 'cursor', 'limit', 'key'].map((n) => [n, 'query']),
  );
  expect(doc.paths['/v1/dead/retry'].post.responses['403']).toBeDefined();
  expect(doc.components.schemas.Overview).toBeDefined();
  expect(doc.components.schemas.TaskSummary).toBeDefined();
});
