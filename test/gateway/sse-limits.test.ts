/**
 * The SSE endpoints' resource limits, against the real Redis: a subscriber that reads slower
 * than messages arrive is dropped once its buffer passes the limit (with a final error event),
 * without disturbing the other subscribers; and the subscriber cap holds under a burst of
 * concurrent requests (no more accepted streams, nor Redis connections, than the cap).
 *
 * The slow and the bursting clients are raw TCP sockets speaking HTTP/1.1, so the test controls
 * exactly when they read (a paused socket stops reading; TCP then pushes back on the gateway) and
 * when their requests reach the gateway.
 */
import { connect, type Socket } from 'node:net';
import { Redis as IORedis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisPool } from '../../worker-host/gateway/redis-pool.js';
import { openSubscription, Subscriptions } from '../../worker-host/gateway/sse.js';
import { SseOutbox } from '../../worker-host/gateway/sse-outbox.js';
import { startTestGateway, startThrowawayRedis } from '../support/gateway.js';
import { TEST_REDIS_URL, waitFor } from '../support/redis.js';

const P = `t:gw-sse-limits:${Math.random().toString(36).slice(2, 8)}:`;
const MiB = 1024 * 1024;
/** The gateway's default per-subscriber buffer limit (1 MiB). */
const DEFAULT_LIMIT = MiB;
let direct: IORedis;

beforeAll(() => {
  direct = new IORedis(TEST_REDIS_URL);
});

afterAll(() => {
  direct.disconnect();
});

function until<T>(check: () => Promise<T> | T, what: string, timeoutMs = 10_000) {
  return waitFor(check, { what, timeoutMs, intervalMs: 20 });
}

async function subscribers(channel: string): Promise<number> {
  const reply = (await direct.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

/** An HTTP/1.1 request on a raw socket; `received` is everything read so far, as latin1. */
interface RawClient {
  socket: Socket;
  received(): string;
  /** Resolves with the status code once the response head has arrived. */
  status: Promise<number>;
  /** Resolves when the server closes the connection. */
  ended: Promise<void>;
}

/** Connects to `base` (the gateway URL); the request is written by `send()`. */
async function rawClient(base: string): Promise<RawClient & { send(path: string): void }> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const chunks: Buffer[] = [];
  let head = '';
  let onHead: (status: number) => void = () => {};
  const status = new Promise<number>((resolve) => {
    onHead = resolve;
  });
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    if (!head.includes('\r\n\r\n')) {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) onHead(Number(head.split(' ')[1]));
    }
  });
  socket.on('error', () => {});
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    received: () => Buffer.concat(chunks).toString('latin1'),
    status,
    ended,
    send(path: string) {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`,
      );
    },
  };
}

it('drops a subscriber that does not read once its buffer passes the limit; others keep receiving', async () => {
  const gw = await startTestGateway();
  const channel = `${P}slow`;
  const path = `/subscribe/${channel}?_token=${gw.token}`;
  try {
    const slow = await rawClient(gw.url);
    slow.send(path);
    expect(await slow.status).toBe(200);
    await until(() => slow.received().includes(`data: subscribe,${channel},1`), 'slow subscribed');
    slow.socket.pause(); // from now on it reads nothing: the kernel buffers fill, then the gateway's

    // A normal subscriber on the same channel, reading everything.
    const leave = new AbortController();
    const normal = await fetch(`${gw.url}${path}`, { signal: leave.signal });
    expect(normal.status).toBe(200);
    const reader = (normal.body as ReadableStream<Uint8Array>).getReader();
    let normalEvents = 0;
    let previous = 0;
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const byte of value) {
          if (byte === 10 && previous === 10) normalEvents++;
          previous = byte;
        }
      }
    })().catch(() => {});
    await until(() => normalEvents === 1, 'normal subscribed');
    expect(await subscribers(channel)).toBe(2);

    // Publish 64 KiB messages until the gateway lets go of the slow one (PUBLISH then reaches
    // one subscriber), at most 48 MiB (the old gateway buffered all of it).
    const payload = 'x'.repeat(64 * 1024);
    let published = 0;
    let receivers = 2;
    while (receivers === 2 && published < 48 * MiB) {
      receivers = await direct.publish(channel, payload);
      published += payload.length;
    }
    expect(receivers, `slow subscriber still attached after ${published} bytes`).toBe(1);
    // Loopback TCP buffers take a few MiB; the gateway itself holds at most ~2 × the limit.
    expect(published).toBeLessThan(16 * MiB);
    const messages = published / payload.length;
    await until(() => normalEvents === 1 + messages, 'every message at the normal subscriber');

    // The normal subscriber keeps receiving after the drop.
    await direct.publish(channel, 'after');
    await until(() => normalEvents === 2 + messages, 'a message after the drop');

    // Resumed, the slow client reads what the TCP buffers held, then the error event, then the
    // end of the response: the gateway discarded the rest instead of keeping it.
    slow.socket.resume();
    await slow.ended;
    const text = slow.received();
    expect(text).toMatch(
      new RegExp(
        `event: error\ndata: error,${channel},ERR subscriber too slow: more than ${DEFAULT_LIMIT} bytes waiting to be sent; subscription closed\n\n\r\n0\r\n\r\n$`,
      ),
    );
    expect(text.length).toBeLessThan(published);
    leave.abort();
    await until(async () => (await subscribers(channel)) === 0, 'normal released');
  } finally {
    await gw.close();
  }
});

it('never holds more than the limit for a stream nobody reads (stats hook)', async () => {
  const logger = pino({ level: 'silent' });
  const pool = new RedisPool({
    redisUrl: TEST_REDIS_URL,
    poolSize: 1,
    maxTransactionConnections: 1,
    logger,
  });
  const limit = 64 * 1024;
  const registry = new Subscriptions({ maxBufferedBytes: limit });
  const channel = `${P}unread`;
  try {
    const stream = await openSubscription({
      kind: 'subscribe',
      target: channel,
      pool,
      registry,
      signal: new AbortController().signal,
      logger,
    });
    const payload = 'y'.repeat(8 * 1024);
    let peak = 0;
    let published = 0;
    while (published < 2 * MiB && (await direct.publish(channel, payload)) === 1) {
      published += payload.length;
      peak = Math.max(peak, registry.stats().bufferedBytes);
    }
    // Dropped as soon as the limit is passed (PUBLISH may still count it for a message or two).
    expect(published).toBeLessThan(2 * limit);
    expect(peak).toBeLessThanOrEqual(limit);
    expect(registry.stats()).toEqual({ open: 0, bufferedBytes: 0, droppedSlow: 1 });
    expect(await subscribers(channel)).toBe(0);
    // The backlog is gone; only the error event is left to read.
    const text = await new Response(stream).text();
    expect(text).toBe(
      `event: error\ndata: error,${channel},ERR subscriber too slow: more than ${limit} bytes waiting to be sent; subscription closed\n\n`,
    );
  } finally {
    await pool.close();
  }
});

it('outbox: hands queued events over as one chunk, lets one oversized event through an empty buffer', async () => {
  const outbox = new SseOutbox(10, () => {});
  const reader = outbox.stream.getReader();
  const bytes = (n: number) => new Uint8Array(n).fill(97);
  expect(outbox.push(bytes(4))).toBe(true);
  expect(outbox.push(bytes(6))).toBe(true);
  expect(outbox.push(bytes(1))).toBe(false); // 11 > 10: refused, nothing queued
  expect(outbox.bufferedBytes).toBe(10);
  expect((await reader.read()).value?.byteLength).toBe(10);
  expect(outbox.bufferedBytes).toBe(0);
  expect(outbox.push(bytes(25))).toBe(true); // larger than the limit, but nothing waits
  expect((await reader.read()).value?.byteLength).toBe(25);
  expect(outbox.push(bytes(3))).toBe(true);
  outbox.close(bytes(2)); // the backlog goes, the last event stays
  expect((await reader.read()).value?.byteLength).toBe(2);
  expect((await reader.read()).done).toBe(true);
});

it('accepts no more than maxSubscribers under a burst of concurrent subscribe requests', async () => {
  // A database of its own, so CLIENT LIST tells this gateway's subscriber connections apart.
  const url = new URL(TEST_REDIS_URL);
  url.pathname = '/13';
  const cap = 5;
  const gw = await startTestGateway({ redisUrl: url.href, config: { maxSubscribers: cap } });
  const channel = `${P}burst`;
  const connections = async () =>
    ((await direct.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string)
      .split('\n')
      .filter((l) => l.includes(' name=forklift-gateway-subscriber ') && l.includes(' db=13 '))
      .length;
  const clients = await Promise.all(Array.from({ length: 40 }, () => rawClient(gw.url)));
  try {
    // Every request reaches the gateway at once, before any Redis connection can be ready.
    for (const c of clients) c.send(`/subscribe/${channel}?_token=${gw.token}`);
    let peak = 0;
    const sampling = setInterval(() => {
      connections().then(
        (n) => {
          peak = Math.max(peak, n);
        },
        () => {},
      );
    }, 5);
    const statuses = await Promise.all(clients.map((c) => c.status));
    const accepted = clients.filter((_, i) => statuses[i] === 200);
    const refused = clients.filter((_, i) => statuses[i] === 503);
    expect(accepted.length + refused.length).toBe(clients.length);
    expect(accepted.length).toBe(cap);
    for (const c of refused) {
      await c.ended;
      expect(c.received()).toContain('{"error":"ERR too many open subscriptions (limit 5)"}');
    }
    await until(async () => (await subscribers(channel)) === cap, 'the accepted subscriptions');
    clearInterval(sampling);
    expect(await connections()).toBe(cap);
    expect(peak).toBeLessThanOrEqual(cap);

    // Closing the accepted streams frees their slots and connections.
    for (const c of accepted) c.socket.destroy();
    await until(async () => (await connections()) === 0, 'connections released');
    const again = await rawClient(gw.url);
    again.send(`/subscribe/${channel}?_token=${gw.token}`);
    expect(await again.status).toBe(200);
    again.socket.destroy();
  } finally {
    for (const c of clients) c.socket.destroy();
    await gw.close();
  }
});

it('releases the reserved slot when Redis cannot be reached', async () => {
  const spare = await startThrowawayRedis();
  const gw = await startTestGateway({ redisUrl: spare.url, config: { maxSubscribers: 1 } });
  const subscribe = () => fetch(`${gw.url}/subscribe/${P}down?_token=${gw.token}`);
  try {
    await spare.kill();
    const down = await subscribe();
    expect(down.status).toBe(503);
    expect(await down.text()).toContain('Redis is unavailable');
    await spare.restart();
    const res = await until(async () => {
      const r = await subscribe();
      if (r.status === 200) return r;
      await r.body?.cancel();
      return undefined;
    }, 'a subscription once Redis is back');
    await res.body?.cancel();
  } finally {
    await gw.close();
    await spare.kill();
  }
});
