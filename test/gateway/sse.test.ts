/**
 * Pub/sub over server-sent events: the official Node client's subscribe/psubscribe, the raw
 * stream format, and release of the Redis subscriber connection when the client goes away.
 */
import { Redis } from '@upstash/redis';
import { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/redis.js';

const P = `t:gw-sse:${Math.random().toString(36).slice(2, 8)}:`;
let gw: TestGateway;
let redis: Redis;
let direct: IORedis;

/** Waits for `check` like `waitFor`, polling fast (events arrive in milliseconds). */
function until<T>(check: () => Promise<T> | T, what: string): Promise<NonNullable<T>> {
  return waitFor(check, { what, timeoutMs: 5_000, intervalMs: 20 });
}

async function subscribers(channel: string): Promise<number> {
  const reply = (await direct.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

beforeAll(async () => {
  gw = await startTestGateway();
  redis = new Redis({ url: gw.url, token: gw.token, enableTelemetry: false });
  direct = new IORedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
});

afterAll(async () => {
  direct.disconnect();
  await gw?.close();
});

it('delivers channel messages to the official client and releases Redis on unsubscribe', async () => {
  const channel = `${P}news`;
  const sub = redis.subscribe<unknown>([channel]);
  const messages: unknown[] = [];
  let count = 0;
  sub.on('subscribe', (n) => {
    count = n as number;
  });
  sub.on('message', ({ message }) => messages.push(message));
  await until(() => count === 1, 'the subscribe event');
  await direct.publish(channel, 'plain text');
  await direct.publish(channel, JSON.stringify({ a: 1 }));
  await direct.publish(channel, 'zß水🍌, with commas');
  await until(() => messages.length === 3, 'three messages');
  expect(messages).toEqual(['plain text', { a: 1 }, 'zß水🍌, with commas']);
  expect(await subscribers(channel)).toBe(1);
  await sub.unsubscribe();
  await until(async () => (await subscribers(channel)) === 0, 'the gateway to unsubscribe');
});

it('delivers pattern messages', async () => {
  const sub = redis.psubscribe<string>([`${P}p:*`]);
  const got: Array<{ pattern: string; channel: string; message: string }> = [];
  let subscribed = false;
  sub.on('psubscribe', () => {
    subscribed = true;
  });
  sub.on('pmessage', (m) => got.push(m as (typeof got)[number]));
  await until(() => subscribed, 'the psubscribe event');
  // The client JSON-parses pattern payloads without a fallback, so publish JSON.
  await direct.publish(`${P}p:one`, JSON.stringify('first'));
  await until(() => got.length === 1, 'a pattern message');
  expect(got[0]).toEqual({ pattern: `${P}p:*`, channel: `${P}p:one`, message: 'first' });
  await sub.unsubscribe();
});

it('streams the documented SSE lines, and refuses without a token', async () => {
  const channel = `${P}raw`;
  const unauthorized = await fetch(`${gw.url}/subscribe/${channel}`, {
    method: 'POST',
    body: '[]',
  });
  expect(unauthorized.status).toBe(401);
  const controller = new AbortController();
  const res = await fetch(`${gw.url}/subscribe/${channel}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.token}`, accept: 'text/event-stream' },
    body: '[]',
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  expect(res.headers.get('upstash-sync-token')).toBeTruthy();
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const readUntil = async (needle: string) => {
    while (!text.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before ${needle}`);
      text += decoder.decode(value, { stream: true });
    }
  };
  await readUntil('\n\n');
  expect(text).toBe(`data: subscribe,${channel},1\n\n`);
  await direct.publish(channel, 'hello');
  await readUntil('hello');
  expect(text).toBe(`data: subscribe,${channel},1\n\ndata: message,${channel},hello\n\n`);
  controller.abort();
  await until(async () => (await subscribers(channel)) === 0, 'release after abort');
});

it('ends open streams on shutdown', async () => {
  const own = await startTestGateway();
  const channel = `${P}shutdown`;
  const res = await fetch(`${own.url}/subscribe/${channel}?_token=${own.token}`);
  expect(res.status).toBe(200);
  await until(async () => (await subscribers(channel)) === 1, 'the subscription');
  const started = Date.now();
  await own.close();
  expect(Date.now() - started).toBeLessThan(3_000);
  const rest = await res.text();
  expect(rest).toContain(`data: subscribe,${channel},1`);
  await until(async () => (await subscribers(channel)) === 0, 'release at shutdown');
});
