/**
 * Redis outages and gateway shutdown, against a throwaway redis-server child process (never the
 * shared test Redis, which other files use in parallel).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startTestGateway,
  startThrowawayRedis,
  type TestGateway,
  type ThrowawayRedis,
} from '../support/gateway.js';
import { waitFor } from '../support/redis.js';

let redisServer: ThrowawayRedis;
let gw: TestGateway;

async function post(path: string, body: unknown, target = gw) {
  const res = await fetch(`${target.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: JSON.parse(text) as unknown,
    sync: res.headers.get('upstash-sync-token'),
  };
}

/** Polls PING until the gateway answers 200 again (after a Redis restart). */
async function untilServing(): Promise<void> {
  await waitFor(async () => (await post('/', ['PING'])).status === 200, {
    what: 'the gateway to recover',
    timeoutMs: 10_000,
  });
}

/** A Lua script that keeps Redis busy for about `ms` milliseconds. */
const busy = (ms: number) =>
  `local t = redis.call('TIME') while true do local n = redis.call('TIME') if (n[1] - t[1]) * 1000000 + (n[2] - t[2]) > ${ms * 1000} then break end end return 1`;

beforeAll(async () => {
  redisServer = await startThrowawayRedis();
  gw = await startTestGateway({ redisUrl: redisServer.url });
});

afterAll(async () => {
  await gw?.close();
  await redisServer?.kill();
});

describe('Redis outage', () => {
  it('answers 503 with a JSON error while Redis is down, and recovers by itself', async () => {
    expect(await post('/', ['SET', 'k', 'v'])).toMatchObject({
      status: 200,
      body: { result: 'OK' },
    });
    await redisServer.kill();

    for (const [path, body] of [
      ['/', ['GET', 'k']],
      ['/pipeline', [['GET', 'k'], ['PING']]],
      ['/multi-exec', [['INCR', 'n']]],
    ] as const) {
      const started = Date.now();
      const a = await post(path, body);
      expect(a.status, path).toBe(503);
      expect(a.body).toMatchObject({ error: expect.stringMatching(/Redis/) });
      expect(a.sync).toBeTruthy();
      expect(Date.now() - started).toBeLessThan(6_000);
    }

    await redisServer.restart();
    const deadline = Date.now() + 10_000;
    let last = await post('/', ['PING']);
    while (last.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      last = await post('/', ['PING']);
    }
    expect(last).toMatchObject({ status: 200, body: { result: 'PONG' } });
    expect(
      await post('/multi-exec', [
        ['INCR', 'n'],
        ['INCR', 'n'],
      ]),
    ).toMatchObject({
      status: 200,
      body: [{ result: 1 }, { result: 2 }],
    });
    expect(await post('/pipeline', [['GET', 'n']])).toMatchObject({
      status: 200,
      body: [{ result: '2' }],
    });
  });

  it('answers a JSON error when Redis dies in the middle of a pipeline', async () => {
    const pending = post('/pipeline', [
      ['SET', 'a', '1'],
      ['EVAL', busy(2_000), 0],
      ['GET', 'a'],
    ]);
    await new Promise((r) => setTimeout(r, 300));
    await redisServer.kill();
    const a = await pending;
    expect(a.status).toBeGreaterThanOrEqual(200);
    if (a.status === 200) {
      expect(
        (a.body as Array<{ error?: string }>).some((item) =>
          item.error?.includes('may or may not'),
        ),
      ).toBe(true);
    } else {
      expect(a).toMatchObject({
        status: 503,
        body: { error: expect.stringMatching(/may or may not have run/) },
      });
    }
    await redisServer.restart();
  });
});

describe('clients that go away', () => {
  it('keeps serving after a client disconnects while its command runs', async () => {
    await untilServing();
    const controller = new AbortController();
    const pending = fetch(`${gw.url}/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}` },
      body: JSON.stringify(['EVAL', `redis.call('SET', 'after-abort', '1') ${busy(300)}`, 0]),
      signal: controller.signal,
    });
    await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    await expect(pending).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 400));
    expect(await post('/', ['GET', 'after-abort'])).toMatchObject({
      status: 200,
      body: { result: '1' },
    });
  });
});

describe('graceful shutdown', () => {
  it('finishes in-flight requests, then closes', async () => {
    const own = await startTestGateway({ redisUrl: redisServer.url });
    const inFlight = post('/', ['EVAL', busy(400), 0], own);
    await new Promise((r) => setTimeout(r, 100));
    const closed = own.close();
    expect(await inFlight).toMatchObject({ status: 200, body: { result: 1 } });
    await closed;
    await expect(fetch(`${own.url}/`, { method: 'POST', body: '["PING"]' })).rejects.toThrow();
    await own.close();
  });
});
