/**
 * The API against the real store: the Worker in workerd → the REST gateway → the local Redis.
 * Outbound requests are recorded to check the round trips; the state is read back both through
 * the API and directly (ioredis `QueueClient`, as the CLI reads it).
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { enqueueScript, getTaskScript } from '../../shared/scripts/index.js';
import { EngineQueue } from '../engine/harness.js';
import { edgeBindings, startTestEdge, type TestEdge } from '../support/edge.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deleteNamespace, testNamespace, testRedis } from '../support/redis.js';

const namespace = testNamespace('edge-tasks');
let gateway: TestGateway;
let edge: TestEdge;
let redis: Redis;
let engine: EngineQueue;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const square = (x: number, extra: Record<string, unknown> = {}) => ({
  type: 'square',
  payload: { x },
  ...extra,
});

beforeAll(async () => {
  redis = testRedis();
  engine = new EngineQueue(redis, namespace, 'default');
  // Load the scripts, so that each call below is exactly one EVALSHA (the NOSCRIPT → EVAL path
  // is covered by store.test.ts on a fresh Redis).
  for (const script of [enqueueScript, getTaskScript]) await redis.script('LOAD', script.source);
  gateway = await startTestGateway();
  edge = await startTestEdge({
    bindings: edgeBindings(gateway, { namespace }),
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

describe('POST /v1/tasks', () => {
  test('enqueues in one round trip: 202 { id, state }, Location, readable at once', async () => {
    let res = await edge.api('POST', '/v1/tasks', { body: square(3) });
    const trips = await roundTrips(async () => {
      res = await edge.api('POST', '/v1/tasks', { body: square(4) });
    });
    expect(trips).toBe(1);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      id: expect.stringMatching(UUID),
      state: 'queued',
      duplicate: false,
    });
    expect(res.headers.get('location')).toBe(`/v1/tasks/${res.body.id}`);

    const view = await edge.api('GET', `/v1/tasks/${res.body.id}`);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({
      id: res.body.id,
      type: 'square',
      payload: { x: 4 },
      priority: 'normal',
      state: 'queued',
      attempts: 0,
      maxAttempts: 3,
      result: null,
      error: null,
      startedAt: null,
      runAt: null,
      timeoutMs: 300_000,
    });
    // The same document the CLI's `status --json` prints (QueueClient over ioredis).
    expect(view.body).toEqual(await engine.client.getTask(res.body.id));
  });

  test('priority, delay and policy overrides are stored', async () => {
    const res = await edge.api('POST', '/v1/tasks', {
      body: square(5, { priority: 'high', delaySeconds: 60, maxAttempts: 7, timeoutMs: 1234 }),
    });
    expect(res).toMatchObject({ status: 202, body: { state: 'delayed', duplicate: false } });
    const view = (await edge.api('GET', `/v1/tasks/${res.body.id}`)).body;
    expect(view).toMatchObject({
      priority: 'high',
      state: 'delayed',
      maxAttempts: 7,
      timeoutMs: 1234,
    });
    const due = Date.parse(view.runAt) - Date.parse(view.createdAt);
    expect(due).toBe(60_000);
  });

  test('a repeated idempotency key returns the same id (duplicate: true) and writes nothing', async () => {
    const key = `order-${Math.random()}`;
    const first = await edge.api('POST', '/v1/tasks', { body: square(6, { idempotencyKey: key }) });
    const enqueuedBefore = Number((await engine.stats()).enqueued);
    const again = await edge.api('POST', '/v1/tasks', { body: square(7, { idempotencyKey: key }) });
    expect(first).toMatchObject({ status: 202, body: { duplicate: false } });
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ id: first.body.id, state: 'queued', duplicate: true });
    expect(Number((await engine.stats()).enqueued)).toBe(enqueuedBefore);
    // The earlier task keeps its payload.
    expect((await edge.api('GET', `/v1/tasks/${first.body.id}`)).body.payload).toEqual({ x: 6 });
  });
});

describe('POST /v1/tasks/batch', () => {
  test('enqueues every task in one round trip, results in request order', async () => {
    const key = `batch-${Math.random()}`;
    const body = {
      tasks: [
        square(1),
        square(2, { priority: 'low' }),
        square(3, { delaySeconds: 30 }),
        square(4, { idempotencyKey: key }),
        square(5, { idempotencyKey: key }),
      ],
    };
    let res = await edge.api('POST', '/v1/tasks/batch', { body });
    const trips = await roundTrips(async () => {
      res = await edge.api('POST', '/v1/tasks/batch', { body: { tasks: [square(9)] } });
    });
    expect(trips).toBe(1);
    res = await edge.api('POST', '/v1/tasks/batch', { body });
    expect(res.status).toBe(202);
    const results = res.body.tasks as { id: string; state: string; duplicate: boolean }[];
    expect(results.map((r) => [r.state, r.duplicate])).toEqual([
      ['queued', false],
      ['queued', false],
      ['delayed', false],
      ['queued', true], // the key was used by the first POST of this body
      ['queued', true],
    ]);
    expect(results[3]?.id).toBe(results[4]?.id);
    for (const [i, r] of results.slice(0, 3).entries()) {
      const view = await edge.api('GET', `/v1/tasks/${r.id}`);
      expect(view.body.payload).toEqual({ x: i + 1 });
    }
  });

  test('1000 tasks in one round trip', async () => {
    const tasks = Array.from({ length: 1000 }, (_, i) => square(i));
    let res = await edge.api('POST', '/v1/tasks/batch', { body: { tasks } });
    const trips = await roundTrips(async () => {
      res = await edge.api('POST', '/v1/tasks/batch', { body: { tasks } });
    });
    expect(trips).toBe(1);
    expect(res.status).toBe(202);
    expect(res.body.tasks).toHaveLength(1000);
    expect(new Set(res.body.tasks.map((t: { id: string }) => t.id)).size).toBe(1000);
  });
});

describe('GET /v1/tasks/:id', () => {
  test('an unknown id: 404 not_found', async () => {
    const res = await edge.api('GET', '/v1/tasks/00000000-0000-4000-8000-000000000000');
    expect(res).toMatchObject({
      status: 404,
      body: {
        error: { code: 'not_found', details: { id: '00000000-0000-4000-8000-000000000000' } },
      },
    });
  });
});

describe('DELETE /v1/tasks/:id', () => {
  let host = 0;
  beforeEach(() => {
    host += 1;
  });

  /** Enqueues a task through the API and leases it as a worker host would (state active). */
  async function activeTask(): Promise<string> {
    // Drain the lanes first so the claim takes this task.
    await redis.del(engine.keys.laneHigh, engine.keys.laneNormal, engine.keys.laneLow);
    const { body } = await edge.api('POST', '/v1/tasks', { body: square(8) });
    await engine.registerHost(`h${host}`, ['a']);
    const { tasks } = await engine.claim(`h${host}`, ['a']);
    expect(tasks[0]?.id).toBe(body.id);
    return body.id;
  }

  test('cancels a queued task: 200, then GET shows canceled', async () => {
    const { body } = await edge.api('POST', '/v1/tasks', { body: square(1) });
    const res = await edge.api('DELETE', `/v1/tasks/${body.id}`);
    expect(res).toMatchObject({ status: 200, body: { id: body.id, state: 'canceled' } });
    const view = await edge.api('GET', `/v1/tasks/${body.id}`);
    expect(view.body).toMatchObject({ state: 'canceled', finishedAt: expect.any(String) });
  });

  test('cancels a delayed task', async () => {
    const { body } = await edge.api('POST', '/v1/tasks', {
      body: square(1, { delaySeconds: 600 }),
    });
    const res = await edge.api('DELETE', `/v1/tasks/${body.id}`);
    expect(res).toMatchObject({ status: 200, body: { state: 'canceled' } });
    expect(await redis.zscore(engine.keys.delayed, body.id)).toBeNull();
  });

  test('an active task: 409 conflict with its state, and it keeps running', async () => {
    const id = await activeTask();
    const res = await edge.api('DELETE', `/v1/tasks/${id}`);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'conflict', details: { id, state: 'active' } });
    expect((await edge.api('GET', `/v1/tasks/${id}`)).body.state).toBe('active');
  });

  test('a failed task awaiting its retry is canceled (it is delayed in effect)', async () => {
    const id = await activeTask();
    const record = await engine.record(id);
    const { outcomes } = await engine.finish(
      `h${host}`,
      [{ token: 'a', id, lease: record.claims ?? '', kind: 'fail', text: 'boom' }],
      { mode: 'free' },
    );
    expect(outcomes).toEqual(['failed']);
    expect((await edge.api('GET', `/v1/tasks/${id}`)).body).toMatchObject({
      state: 'failed',
      error: 'boom',
      runAt: expect.any(String),
    });
    const res = await edge.api('DELETE', `/v1/tasks/${id}`);
    expect(res).toMatchObject({ status: 200, body: { id, state: 'canceled' } });
  });

  test('a canceled task: 200 again, the answer of the first cancel; an unknown one: 404', async () => {
    // A re-sent DELETE (a reply lost on the way, a client retrying after a 503) must not turn a
    // successful cancel into a 409: canceling a canceled task answers as the cancel did.
    const { body } = await edge.api('POST', '/v1/tasks', { body: square(1) });
    const first = await edge.api('DELETE', `/v1/tasks/${body.id}`);
    const canceledBefore = Number((await engine.stats()).canceled);
    const finishedAt = (await engine.record(body.id)).finishedAt;
    const again = await edge.api('DELETE', `/v1/tasks/${body.id}`);
    expect(first).toMatchObject({ status: 200, body: { id: body.id, state: 'canceled' } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    // Nothing was written: the total and the record are as the first cancel left them.
    expect(Number((await engine.stats()).canceled)).toBe(canceledBefore);
    expect((await engine.record(body.id)).finishedAt).toBe(finishedAt);
    const unknown = await edge.api('DELETE', '/v1/tasks/no-such-task');
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });
});

describe('GET /v1/stats', () => {
  test('is the same document as the CLI stats (QueueClient.stats)', async () => {
    const res = await edge.api('GET', '/v1/stats');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(await engine.client.stats());
    expect(res.body.queue).toBe('default');
    expect(res.body.canceled).toBeGreaterThan(0);
  });
});

describe('GET /openapi.json', () => {
  test('documents every route with the shared schemas', async () => {
    const { body: doc } = await edge.api('GET', '/openapi.json', { token: null });
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/healthz',
      '/v1/dead',
      '/v1/dead/delete',
      '/v1/dead/delete-matching',
      '/v1/dead/retry',
      '/v1/dead/retry-matching',
      '/v1/overview',
      '/v1/stats',
      '/v1/tasks',
      '/v1/tasks/batch',
      '/v1/tasks/{id}',
      '/v1/tasks/{id}/run-now',
      '/v1/waiting/{list}',
    ]);
    expect(Object.keys(doc.paths['/v1/tasks/{id}']).sort()).toEqual(['delete', 'get']);
    // POST enqueues, GET searches (test/edge/operator.test.ts).
    expect(Object.keys(doc.paths['/v1/tasks']).sort()).toEqual(['get', 'post']);
    expect(doc.paths['/v1/tasks'].post.responses['202']).toBeDefined();
    expect(doc.paths['/v1/tasks'].post.security).toEqual([{ bearerAuth: [] }]);
    const schemas = doc.components.schemas;
    // One request shape per task type of the shared registry, with that type's payload schema.
    expect(schemas.EnqueueRequest.oneOf).toEqual([
      { $ref: '#/components/schemas/EnqueueRequest_square' },
    ]);
    expect(schemas.EnqueueRequest_square.properties.type).toEqual({
      type: 'string',
      const: 'square',
    });
    expect(schemas.EnqueueRequest_square.properties.payload.properties.x).toEqual({
      type: 'integer',
      minimum: -94_906_265,
      maximum: 94_906_265,
    });
    expect(schemas.BatchRequest.properties.tasks.maxItems).toBe(1000);
    expect(Object.keys(schemas.Task.properties)).toEqual(Object.keys(await anyTaskView()));
    expect(schemas.Error.properties.error.properties.code.enum).toContain('store_unavailable');
  });
});

async function anyTaskView(): Promise<Record<string, unknown>> {
  const { body } = await edge.api('POST', '/v1/tasks', { body: square(1) });
  return (await edge.api('GET', `/v1/tasks/${body.id}`)).body;
}
