/**
 * What one overview refresh costs Redis: the edge's `GET /v1/overview` (workerd → gateway → a
 * private redis-server of this file's own, so no other test's commands are counted) is one store
 * request and one command, an EVALSHA of the snapshot script, counted by Redis itself (INFO
 * commandstats). Commands a script runs inside Redis are not commands sent. And however many
 * samples are taken, the history stays bounded and expiring.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  HISTORY_INTERVAL_MS,
  HISTORY_MAX_SAMPLES,
  HISTORY_TTL_MS,
} from '../../shared/scripts/index.js';
import { EngineQueue } from '../engine/harness.js';
import { edgeBindings, startTestEdge, type TestEdge } from '../support/edge.js';
import {
  startTestGateway,
  startThrowawayRedis,
  type TestGateway,
  type ThrowawayRedis,
} from '../support/gateway.js';

const namespace = 'overview-calls';
let server: ThrowawayRedis;
let redis: Redis;
let gateway: TestGateway;
let edge: TestEdge;
let engine: EngineQueue;

beforeAll(async () => {
  server = await startThrowawayRedis();
  redis = new Redis(server.url, { maxRetriesPerRequest: 3 });
  engine = new EngineQueue(redis, namespace, 'default');
  gateway = await startTestGateway({ redisUrl: server.url, allow: 'forklift' });
  edge = await startTestEdge({
    bindings: edgeBindings(gateway, { namespace }),
    countOutbound: true,
  });
});
afterAll(async () => {
  await edge?.dispose();
  await gateway?.close();
  redis?.disconnect();
  await server?.kill();
});

/**
 * The commands clients sent to Redis while `run` ran, as MONITOR shows them (commands a script
 * runs inside Redis are shown with source 'lua' and left out; so is MONITOR's own connection).
 */
async function commandsSentDuring(run: () => Promise<void>): Promise<string[]> {
  // A connection of its own, connected first, whose PING marks the end of the window.
  const marker = new Redis(server.url);
  await marker.ping();
  const monitor = await redis.monitor();
  const seen: string[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua') seen.push(String(args[0]).toLowerCase());
  });
  try {
    await run();
    // Everything sent before the marker's PING has been shown once the PING is.
    await marker.ping();
    const deadline = Date.now() + 5_000;
    while (!seen.includes('ping') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    monitor.disconnect();
    marker.disconnect();
  }
  return seen.slice(0, seen.lastIndexOf('ping'));
}

test('one overview refresh is one store request and one Redis command (EVALSHA)', async () => {
  await engine.enqueue({ id: 'a' }, { id: 'b', priority: 'high' }, { id: 'c', delayMs: 60_000 });
  await engine.registerHost('h', ['0.0', '1.0']);
  // The first call may load the script (NOSCRIPT, then EVAL); the refreshes after it are counted.
  expect((await edge.api('GET', '/v1/overview')).status).toBe(200);
  for (let i = 0; i < 3; i++) {
    const before = edge.outbound.length;
    const sent = await commandsSentDuring(async () => {
      const res = await edge.api('GET', '/v1/overview');
      expect(res.status).toBe(200);
      expect(res.body.hosts).toHaveLength(1);
    });
    expect(edge.outbound.length - before).toBe(1);
    expect(sent).toEqual(['evalsha']);
  }
});

test(`the history stays at most ${HISTORY_MAX_SAMPLES} samples, with a TTL, after many refreshes`, async () => {
  const now = Date.now();
  for (let i = 0; i < HISTORY_MAX_SAMPLES + 25; i++) {
    // Age the newest sample, so that each refresh takes one.
    await redis.lset(engine.keys.history, -1, `${now - HISTORY_INTERVAL_MS - 1} 0 0 0 0`);
    const res = await edge.api('GET', '/v1/overview');
    expect(res.status).toBe(200);
  }
  expect(await redis.llen(engine.keys.history)).toBe(HISTORY_MAX_SAMPLES);
  const ttl = await redis.pttl(engine.keys.history);
  expect(ttl).toBeGreaterThan(HISTORY_TTL_MS - 60_000);
  expect(ttl).toBeLessThanOrEqual(HISTORY_TTL_MS);
  // The only history key of the queue.
  expect(await redis.keys(`${engine.keys.prefix}hist*`)).toEqual([engine.keys.history]);
});
