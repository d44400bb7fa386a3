/**
 * The Cloudflare build of `@upstash/redis`, inside workerd (Miniflare), against the gateway in
 * front of the real Redis. The fixture Worker runs a scripted scenario and reports the results.
 */
import { fileURLToPath } from 'node:url';
import type { Redis as IORedis } from 'ioredis';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bundleForWorkerd, EDGE_COMPATIBILITY_DATE } from '../support/edge.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deleteKeysByPrefix, testRedis } from '../support/redis.js';

const P = 't:gw-workerd:';
let gw: TestGateway;
let mf: Miniflare;
let direct: IORedis;

/** Bundles a Worker module (a path relative to this file) the way wrangler would for workerd. */
function bundle(entry: string): Promise<string> {
  return bundleForWorkerd(fileURLToPath(new URL(entry, import.meta.url)));
}

beforeAll(async () => {
  direct = testRedis();
  await direct.set(`${P}bin`, Buffer.from([0xe2, 0x82, 0xac, 0xff, 0x41]));
  gw = await startTestGateway();
  mf = new Miniflare({
    modules: true,
    script: await bundle('./fixtures/upstash-worker.ts'),
    compatibilityDate: EDGE_COMPATIBILITY_DATE,
    bindings: { UPSTASH_REDIS_REST_URL: gw.url, UPSTASH_REDIS_REST_TOKEN: gw.token, PREFIX: P },
  });
  await mf.ready;
});

afterAll(async () => {
  await mf?.dispose();
  await gw?.close();
  await deleteKeysByPrefix(direct, P);
  direct.disconnect();
});

it('runs the scripted scenario with the Cloudflare client inside workerd', async () => {
  const res = await mf.dispatchFetch('http://worker/');
  const report = (await res.json()) as Record<string, unknown>;
  expect(report.failed).toBeUndefined();
  expect(res.status).toBe(200);
  expect(report).toMatchObject({
    set: 'OK',
    get: 'hello',
    ok: ['OK', null],
    json: { a: 1, list: ['x', 2] },
    incr: 5,
    float: 2.25,
    binary: new TextDecoder().decode(Buffer.from([0xe2, 0x82, 0xac, 0xff, 0x41])),
    unicode: 'zß水🍌',
    hgetall: { a: 1, b: 'two' },
    lrange: ['a', 'b', 'c'],
    zrange: ['a', 1, 'b', 2.5],
    smembers: ['a', 'b'],
    eval: [`${P}k`, 'v', 3],
    evalsha: 'echoed',
    noscript: { error: expect.stringContaining('NOSCRIPT No matching script. Please use EVAL.') },
    multi: [1, 2, 2],
    autoPipelined: ['OK', 'OK', 'hello', 'PONG', 'hash'],
    afterAutoPipelined: [1, 2],
  });
  expect(String(report.scriptFallback)).toMatch(/^fresh-/);
  const { id, entries } = report.xrange as { id: string; entries: Record<string, unknown> };
  expect(entries).toEqual({ [id]: { f: 'v' } });
  const pipeline = report.pipeline as Array<{ result?: unknown; error?: string }>;
  expect(pipeline[0]?.result).toBe('OK');
  expect(pipeline[1]?.error).toMatch(/^WRONGTYPE/);
  expect(pipeline[2]?.result).toBe('v');
  const counters = (report.concurrentMulti as number[][]).map(([incr, get]) => {
    expect(get).toBe(incr);
    return incr;
  });
  expect(counters.sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
    Array.from({ length: 10 }, (_, i) => i + 1),
  );
  const [before, after] = report.syncTokens as string[];
  expect(before).toBeTruthy();
  expect(after).toBeTruthy();
  expect(after).not.toBe(before);
});
