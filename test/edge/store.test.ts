/**
 * When the store fails, the API answers 503 `store_unavailable` in JSON and never leaves a
 * half-written task. The gateway fronts a private redis-server that the tests kill and restart;
 * the shared test Redis is never touched.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { edgeBindings, startTestEdge, type TestEdge } from '../support/edge.js';
import {
  startTestGateway,
  startThrowawayRedis,
  type TestGateway,
  type ThrowawayRedis,
} from '../support/gateway.js';
import { testNamespace } from '../support/redis.js';

const namespace = testNamespace('edge-store');
const square = (x: number) => ({ type: 'square', payload: { x } });
const disposers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const dispose of disposers.reverse()) await dispose();
});

async function startEdge(bindings: Record<string, string>, countOutbound = false) {
  const edge = await startTestEdge({ bindings, countOutbound });
  disposers.push(() => edge.dispose());
  return edge;
}

function expectUnavailable(res: Awaited<ReturnType<TestEdge['api']>>): void {
  expect(res.status).toBe(503);
  expect(res.body.error).toEqual({
    code: 'store_unavailable',
    message: expect.stringContaining('unavailable'),
  });
  expect(res.headers.get('retry-after')).toBe('1');
  expect(res.headers.get('content-type')).toContain('application/json');
}

describe('Redis behind the gateway goes down', () => {
  let server: ThrowawayRedis;
  let gateway: TestGateway;
  let edge: TestEdge;
  let direct: Redis;

  beforeAll(async () => {
    server = await startThrowawayRedis();
    disposers.push(() => server.kill());
    gateway = await startTestGateway({ redisUrl: server.url });
    disposers.push(() => gateway.close());
    edge = await startEdge(edgeBindings(gateway, { namespace }), true);
    direct = new Redis(server.url, {
      maxRetriesPerRequest: 1,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    direct.on('error', () => {});
    disposers.push(async () => direct.disconnect());
  });

  test('the first call on a fresh Redis falls back from EVALSHA to EVAL (NOSCRIPT)', async () => {
    const before = edge.outbound.length;
    const first = await edge.api('POST', '/v1/tasks', { body: square(1) });
    expect(first).toMatchObject({ status: 202, body: { state: 'queued' } });
    expect(edge.outbound.length - before).toBe(2);
    const second = await edge.api('POST', '/v1/tasks', { body: square(2) });
    expect(second.status).toBe(202);
    expect(edge.outbound.length - before).toBe(3);
  });

  test('Redis refuses the gateway (auth required): 503, and nothing is written meanwhile', async () => {
    const ok = await edge.api('POST', '/v1/tasks', { body: square(10) });
    expect(ok.status).toBe(202);
    await direct.connect();
    const before = (await direct.keys(`${namespace}:*`)).sort();
    await direct.config('SET', 'requirepass', 'locked-out');
    await direct.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    try {
      expectUnavailable(await edge.api('POST', '/v1/tasks', { body: square(11) }));
      expectUnavailable(
        await edge.api('POST', '/v1/tasks/batch', { body: { tasks: [square(12), square(13)] } }),
      );
      expectUnavailable(await edge.api('DELETE', `/v1/tasks/${ok.body.id}`));
    } finally {
      await direct.config('SET', 'requirepass', '');
    }
    expect((await direct.keys(`${namespace}:*`)).sort()).toEqual(before);
    expect(await direct.hget(`${namespace}:{default}:task:${ok.body.id}`, 'state')).toBe('queued');
    direct.disconnect();
  });

  test('enqueue, batch, get, cancel and stats answer 503 JSON while it is down', async () => {
    // (The gateway may still be reconnecting after the previous test.)
    const ok = await waitForStatus(() => edge.api('POST', '/v1/tasks', { body: square(3) }), 202);
    await server.kill();

    expectUnavailable(await edge.api('POST', '/v1/tasks', { body: square(4) }));
    expectUnavailable(
      await edge.api('POST', '/v1/tasks/batch', { body: { tasks: [square(5), square(6)] } }),
    );
    expectUnavailable(await edge.api('GET', `/v1/tasks/${ok.body.id}`));
    expectUnavailable(await edge.api('DELETE', `/v1/tasks/${ok.body.id}`));
    expectUnavailable(await edge.api('GET', '/v1/stats'));
    // Bad input is still a 400: it never reaches the store.
    expect((await edge.api('POST', '/v1/tasks', { body: square(Number.NaN) })).status).toBe(400);

    // After a restart (empty: no persistence) nothing from the outage is there, and the
    // service recovers without a restart of the Worker.
    await server.restart();
    await direct.connect();
    expect(await direct.keys(`${namespace}:*`)).toEqual([]);
    const back = await waitForStatus(() => edge.api('POST', '/v1/tasks', { body: square(7) }), 202);
    const keys = await direct.keys(`${namespace}:*`);
    expect(keys.filter((k) => k.includes(':task:'))).toEqual([
      expect.stringContaining(back.body.id),
    ]);
  });
});

describe('the gateway cannot be reached', () => {
  test('nothing listens at the URL: 503 quickly (one retry, no long backoff)', async () => {
    const edge = await startEdge(
      edgeBindings({ url: 'http://127.0.0.1:9', token: 'whatever' }, { namespace }),
    );
    const started = Date.now();
    expectUnavailable(await edge.api('POST', '/v1/tasks', { body: square(1) }));
    expectUnavailable(await edge.api('GET', '/v1/stats'));
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  test('the gateway refuses the token: 503 store_unavailable, not 500', async () => {
    const gateway = await startTestGateway();
    disposers.push(() => gateway.close());
    const edge = await startEdge(
      edgeBindings({ url: gateway.url, token: 'wrong-token' }, { namespace }),
    );
    expectUnavailable(await edge.api('POST', '/v1/tasks', { body: square(1) }));
  });

  test('the gateway does not answer in time: 503 after FORKLIFT_STORE_TIMEOUT_MS', async () => {
    const { createServer } = await import('node:http');
    const silent = createServer(() => {}); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    disposers.push(
      () =>
        new Promise<void>((resolve) => {
          silent.closeAllConnections();
          silent.close(() => resolve());
        }),
    );
    const { port } = silent.address() as { port: number };
    const edge = await startEdge(
      edgeBindings(
        { url: `http://127.0.0.1:${port}`, token: 't' },
        { namespace, extra: { FORKLIFT_STORE_TIMEOUT_MS: '300' } },
      ),
    );
    const started = Date.now();
    expectUnavailable(await edge.api('GET', '/v1/stats'));
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

async function waitForStatus<T extends { status: number }>(
  call: () => Promise<T>,
  status: number,
): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await call();
    if (res.status === status || Date.now() > deadline) {
      expect(res.status).toBe(status);
      return res;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
