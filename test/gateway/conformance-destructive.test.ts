/**
 * The official Node client's destructive commands through the gateway (FLUSHDB, FLUSHALL,
 * SCRIPT FLUSH, FUNCTION FLUSH), against a throwaway redis-server of their own so that no other
 * test file's data is touched.
 */
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startTestGateway,
  startThrowawayRedis,
  type TestGateway,
  type ThrowawayRedis,
} from '../support/gateway.js';

let spare: ThrowawayRedis;
let spareGw: TestGateway;
let spareRedis: Redis;

beforeAll(async () => {
  spare = await startThrowawayRedis();
  spareGw = await startTestGateway({ redisUrl: spare.url });
  spareRedis = new Redis({ url: spareGw.url, token: spareGw.token, enableTelemetry: false });
});

afterAll(async () => {
  await spareGw?.close();
  await spare?.kill();
});

describe('server and connection commands', () => {
  it('destructive commands on a throwaway server: flushdb, flushall, scriptFlush, functions.flush', async () => {
    await spareRedis.set('a', 1);
    expect(await spareRedis.dbsize()).toBe(1);
    expect(await spareRedis.flushdb()).toBe('OK');
    await spareRedis.set('b', 1);
    expect(await spareRedis.flushall([{ async: true }])).toBe('OK');
    expect(await spareRedis.dbsize()).toBe(0);
    const sha = await spareRedis.scriptLoad('return 1');
    expect(await spareRedis.scriptFlush({ sync: true })).toBe('OK');
    expect(await spareRedis.scriptExists(sha)).toEqual([0]);
    expect(await spareRedis.functions.flush()).toBe('OK');
  });
});
