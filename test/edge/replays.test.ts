/**
 * Re-sent store requests. @upstash/redis sends a request again when its reply never arrives (the
 * connection drops after the store ran it); the second execution must answer as the first did.
 * A proxy between the Worker (in workerd) and the gateway (in front of the local Redis) lets one
 * chosen request through to Redis, waits for its answer, then cuts the connection without passing
 * the answer on: exactly a reply lost on the way back. Nothing is mocked.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { scriptSha } from '../../shared/script-runner.js';
import {
  cancelScript,
  deleteDeadScript,
  enqueueScript,
  getTaskScript,
  retryDeadScript,
} from '../../shared/scripts/index.js';
import { EngineQueue } from '../engine/harness.js';
import { edgeBindings, startTestEdge, type TestEdge } from '../support/edge.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deleteNamespace, testNamespace, testRedis } from '../support/redis.js';

const namespace = testNamespace('edge-replays');
const square = (x: number, extra: Record<string, unknown> = {}) => ({
  type: 'square',
  payload: { x },
  ...extra,
});

/** A proxy that forwards REST requests to `target`, losing the replies it is told to lose. */
interface LossyProxy {
  url: string;
  /** The next request whose command `match` accepts runs in Redis, but its reply is lost. */
  loseNextReply(match: (command: readonly unknown[]) => boolean): void;
  /** Replies lost so far. */
  readonly lost: number;
  /** The commands forwarded so far (name and first argument), in order. */
  readonly forwarded: readonly string[][];
  close(): Promise<void>;
}

async function startLossyProxy(target: string): Promise<LossyProxy> {
  const pending: ((command: readonly unknown[]) => boolean)[] = [];
  const forwarded: string[][] = [];
  let lost = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    let command: unknown[] = [];
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      if (Array.isArray(parsed)) command = parsed;
    } catch {
      // not a single command: forwarded as is
    }
    forwarded.push(command.slice(0, 2).map(String));
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name)) {
        headers[name] = value;
      }
    }
    const upstream = await fetch(new URL(req.url ?? '/', target), {
      method: req.method ?? 'POST',
      headers,
      ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body }),
    });
    const answer = Buffer.from(await upstream.arrayBuffer());
    const index = pending.findIndex((match) => match(command));
    if (index >= 0) {
      // Redis ran it; the caller never hears back.
      pending.splice(index, 1);
      lost += 1;
      req.socket.destroy();
      return;
    }
    res.writeHead(upstream.status, {
      'content-type': upstream.headers.get('content-type') ?? 'application/json',
    });
    res.end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    loseNextReply: (match) => {
      pending.push(match);
    },
    get lost() {
      return lost;
    },
    forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let redis: Redis;
let engine: EngineQueue;
let gateway: TestGateway;
let proxy: LossyProxy;
let edge: TestEdge;

/** Matches the EVALSHA (or EVAL) of the script whose SHA-1 is `sha`. */
const callOf = (sha: string) => (command: readonly unknown[]) =>
  String(command[0]).toUpperCase() === 'EVALSHA' && command[1] === sha;

/** How many times the script `sha` reached the store since `from`. */
const callsSince = (from: number, sha: string) =>
  proxy.forwarded.slice(from).filter((c) => c[0]?.toUpperCase() === 'EVALSHA' && c[1] === sha)
    .length;

beforeAll(async () => {
  redis = testRedis();
  engine = new EngineQueue(redis, namespace, 'default');
  // Loaded, so that each call is one EVALSHA (no NOSCRIPT → EVAL in between).
  for (const script of [
    enqueueScript,
    cancelScript,
    getTaskScript,
    retryDeadScript,
    deleteDeadScript,
  ]) {
    await redis.script('LOAD', script.source);
  }
  gateway = await startTestGateway();
  proxy = await startLossyProxy(gateway.url);
  edge = await startTestEdge({
    bindings: edgeBindings({ url: proxy.url, token: gateway.token }, { namespace }),
  });
});
afterAll(async () => {
  await edge?.dispose();
  await proxy?.close();
  await gateway?.close();
  await deleteNamespace(redis, namespace);
  redis.disconnect();
});

/** Enqueues a task on the high lane (claimed first) and kills it: a dead letter. */
async function deadLetter(): Promise<string> {
  const id = `replay-dead-${Math.random().toString(36).slice(2)}`;
  await engine.registerHost('replay-host', ['t']);
  await engine.enqueue({ id, priority: 'high', maxAttempts: 1 });
  const { tasks } = await engine.claim('replay-host', ['t']);
  const lease = tasks[0]?.fields.claims ?? '';
  await engine.finish('replay-host', [{ token: 't', id, lease, kind: 'fatal', text: 'broke' }], {
    mode: 'free',
  });
  expect((await engine.record(id)).state).toBe('dead');
  return id;
}

describe('a store reply lost on the way back: the client re-sends, the answer is the same', () => {
  test('POST /v1/tasks/batch with idempotency keys: 202 with the ids and duplicate flags written', async () => {
    const sha = await scriptSha(enqueueScript);
    const earlier = await edge.api('POST', '/v1/tasks', {
      body: square(0, { idempotencyKey: `seen-${Math.random()}` }),
    });
    expect(earlier.status).toBe(202);
    const key = `k-${Math.random()}`;
    const body = {
      tasks: [
        square(1, { idempotencyKey: key }),
        square(2, { idempotencyKey: key }), // a duplicate within the batch: its id is not written
        square(3),
        square(4, {
          idempotencyKey: (await engine.record(earlier.body.id)).idempotencyKey,
        }), // names the earlier task
      ],
    };
    const enqueuedBefore = Number((await engine.stats()).enqueued);
    const from = proxy.forwarded.length;
    const lostBefore = proxy.lost;
    proxy.loseNextReply(callOf(sha));
    const res = await edge.api('POST', '/v1/tasks/batch', { body });

    expect(proxy.lost - lostBefore).toBe(1);
    expect(callsSince(from, sha)).toBe(2); // the first call, and the client's re-send
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const results = res.body.tasks as { id: string; state: string; duplicate: boolean }[];
    expect(results.map((r) => [r.state, r.duplicate])).toEqual([
      ['queued', false],
      ['queued', true],
      ['queued', false],
      ['queued', true],
    ]);
    expect(results[1]?.id).toBe(results[0]?.id);
    expect(results[3]?.id).toBe(earlier.body.id);
    // What the answer names is what was written, once.
    expect(Number((await engine.stats()).enqueued)).toBe(enqueuedBefore + 2);
    for (const [i, x] of [
      [0, 1],
      [2, 3],
    ] as const) {
      const view = await edge.api('GET', `/v1/tasks/${results[i]?.id}`);
      expect(view.body).toMatchObject({ payload: { x }, state: 'queued' });
    }
  });

  test('POST /v1/tasks without a key: 202, the task written once', async () => {
    const sha = await scriptSha(enqueueScript);
    const enqueuedBefore = Number((await engine.stats()).enqueued);
    proxy.loseNextReply(callOf(sha));
    const lostBefore = proxy.lost;
    const res = await edge.api('POST', '/v1/tasks', { body: square(5) });
    expect(proxy.lost - lostBefore).toBe(1);
    expect(res).toMatchObject({ status: 202, body: { state: 'queued', duplicate: false } });
    expect(Number((await engine.stats()).enqueued)).toBe(enqueuedBefore + 1);
    expect((await engine.record(res.body.id)).payload).toBe('{"x":5}');
  });

  test('DELETE /v1/tasks/{id}: 200 canceled, not 409 for its own cancel', async () => {
    const sha = await scriptSha(cancelScript);
    const { body } = await edge.api('POST', '/v1/tasks', { body: square(6, { delaySeconds: 60 }) });
    const canceledBefore = Number((await engine.stats()).canceled ?? 0);
    const from = proxy.forwarded.length;
    const lostBefore = proxy.lost;
    proxy.loseNextReply(callOf(sha));
    const res = await edge.api('DELETE', `/v1/tasks/${body.id}`);
    expect(proxy.lost - lostBefore).toBe(1);
    expect(callsSince(from, sha)).toBe(2);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ id: body.id, state: 'canceled' });
    expect(Number((await engine.stats()).canceled)).toBe(canceledBefore + 1);
    expect((await engine.record(body.id)).state).toBe('canceled');
  });

  test('POST /v1/dead/retry: 200 with the tasks it retried counted as retried, none retried twice', async () => {
    const sha = await scriptSha(retryDeadScript);
    const id = await deadLetter();

    const from = proxy.forwarded.length;
    const lostBefore = proxy.lost;
    proxy.loseNextReply(callOf(sha));
    const res = await edge.api('POST', '/v1/dead/retry', { body: { ids: [id] } });
    expect(proxy.lost - lostBefore).toBe(1);
    expect(callsSince(from, sha)).toBe(2);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ retried: 1, notDead: [] });
    expect((await engine.record(id)).state).toBe('queued');
    expect(await engine.lane('high')).toEqual([id]);
    await redis.lrem(engine.keys.laneHigh, 0, id); // out of the next test's way
  });

  test('POST /v1/dead/delete: 200 with the tasks it deleted counted as deleted', async () => {
    const sha = await scriptSha(deleteDeadScript);
    const id = await deadLetter();
    const from = proxy.forwarded.length;
    const lostBefore = proxy.lost;
    proxy.loseNextReply(callOf(sha));
    const res = await edge.api('POST', '/v1/dead/delete', { body: { ids: [id] } });
    expect(proxy.lost - lostBefore).toBe(1);
    expect(callsSince(from, sha)).toBe(2);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ deleted: 1, notDead: [] });
    expect((await edge.api('GET', `/v1/tasks/${id}`)).status).toBe(404);
  });
});
