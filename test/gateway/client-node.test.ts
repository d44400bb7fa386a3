/**
 * The official `@upstash/redis` Node client, with default options (auto-pipelining, base64
 * responses, read-your-writes), against the gateway in front of the real Redis.
 */
import { Redis } from '@upstash/redis';
import type { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deleteKeysByPrefix, testRedis } from '../support/redis.js';

const P = 't:gw-client:';
let gw: TestGateway;
let redis: Redis;
let direct: IORedis;

beforeAll(async () => {
  gw = await startTestGateway();
  redis = new Redis({ url: gw.url, token: gw.token, enableTelemetry: false });
  direct = testRedis();
});

afterAll(async () => {
  await deleteKeysByPrefix(direct, P);
  direct.disconnect();
  await gw?.close();
});

describe('strings and numbers', () => {
  it('sets and gets text, JSON and numbers as Upstash does', async () => {
    expect(await redis.set(`${P}s`, 'hello')).toBe('OK');
    expect(await redis.get(`${P}s`)).toBe('hello');
    await redis.set(`${P}obj`, { a: 1, b: [true, null] });
    expect(await redis.get(`${P}obj`)).toEqual({ a: 1, b: [true, null] });
    await redis.set(`${P}n`, 99.5);
    expect(await redis.get(`${P}n`)).toBe(99.5);
    expect(await redis.incr(`${P}count`)).toBe(1);
    expect(await redis.incrby(`${P}count`, 41)).toBe(42);
    expect(await redis.incrbyfloat(`${P}f`, 1.5)).toBe(1.5);
    expect(await redis.get(`${P}missing`)).toBeNull();
    expect(await redis.set(`${P}s`, 'x', { nx: true })).toBeNull();
    expect(await redis.mget(`${P}s`, `${P}missing`)).toEqual(['hello', null]);
  });

  it('keeps an "OK" value and Unicode text intact', async () => {
    await redis.set(`${P}ok`, 'OK');
    expect(await redis.get(`${P}ok`)).toBe('OK');
    expect(await redis.mget(`${P}ok`)).toEqual(['OK']);
    const text = 'zß水🍌 \u0000 "quoted" \n newline';
    await redis.set(`${P}u`, text);
    expect(await redis.get(`${P}u`)).toBe(text);
  });

  it('returns binary-unsafe values as the client decodes them (invalid UTF-8 → U+FFFD)', async () => {
    const bytes = Buffer.from([0xe2, 0x82, 0xac, 0xff, 0x00, 0xfe, 0x41]);
    await direct.set(`${P}bin`, bytes);
    expect(await redis.get(`${P}bin`)).toBe(new TextDecoder().decode(bytes));
    expect(await redis.strlen(`${P}bin`)).toBe(7);
  });

  it('keeps big integers as strings the client does not parse lossily', async () => {
    await redis.set(`${P}big`, '101600000000150081467');
    expect(await redis.get(`${P}big`)).toBe('101600000000150081467');
  });
});

describe('data structures', () => {
  it('hashes', async () => {
    expect(await redis.hset(`${P}h`, { a: 1, b: 'two', c: '{"x":1}' })).toBe(3);
    expect(await redis.hget(`${P}h`, 'b')).toBe('two');
    expect(await redis.hgetall(`${P}h`)).toEqual({ a: 1, b: 'two', c: { x: 1 } });
    expect(await redis.hmget(`${P}h`, 'a', 'zz')).toEqual({ a: 1, zz: null });
    expect(await redis.hincrby(`${P}h`, 'a', 2)).toBe(3);
    expect((await redis.hkeys(`${P}h`)).sort()).toEqual(['a', 'b', 'c']);
    expect(await redis.hlen(`${P}h`)).toBe(3);
  });

  it('lists', async () => {
    expect(await redis.rpush(`${P}l`, 'a', 'b', 'c')).toBe(3);
    expect(await redis.lpush(`${P}l`, 'z')).toBe(4);
    expect(await redis.lrange(`${P}l`, 0, -1)).toEqual(['z', 'a', 'b', 'c']);
    expect(await redis.llen(`${P}l`)).toBe(4);
    expect(await redis.lpop(`${P}l`)).toBe('z');
    expect(await redis.rpop(`${P}l`, 2)).toEqual(['c', 'b']);
  });

  it('sorted sets', async () => {
    expect(await redis.zadd(`${P}z`, { score: 1, member: 'a' }, { score: 2.5, member: 'b' })).toBe(
      2,
    );
    expect(await redis.zrange(`${P}z`, 0, -1, { withScores: true })).toEqual(['a', 1, 'b', 2.5]);
    expect(await redis.zscore(`${P}z`, 'b')).toBe(2.5);
    expect(await redis.zcard(`${P}z`)).toBe(2);
    expect(await redis.zincrby(`${P}z`, 1, 'a')).toBe(2);
    expect(await redis.zrange(`${P}z`, 0, 10, { byScore: true })).toEqual(['a', 'b']);
  });

  it('sets', async () => {
    expect(await redis.sadd(`${P}set`, 'a', 'b', 'c')).toBe(3);
    expect((await redis.smembers(`${P}set`)).sort()).toEqual(['a', 'b', 'c']);
    expect(await redis.sismember(`${P}set`, 'b')).toBe(1);
    expect(await redis.smismember(`${P}set`, ['a', 'x'])).toEqual([1, 0]);
    expect(await redis.scard(`${P}set`)).toBe(3);
  });

  it('streams', async () => {
    const id = await redis.xadd(`${P}x`, '*', { field: 'value', n: 1 });
    expect(id).toMatch(/^\d+-\d+$/);
    const range = await redis.xrange(`${P}x`, '-', '+');
    expect(range).toEqual({ [id]: { field: 'value', n: 1 } });
    expect(await redis.xlen(`${P}x`)).toBe(1);
  });
});

describe('scripts', () => {
  it('EVAL, EVALSHA with NOSCRIPT fallback, SCRIPT LOAD', async () => {
    const lua = `return {KEYS[1], ARGV[1], 42, redis.call('SET', KEYS[1], ARGV[1])['ok']}`;
    expect(await redis.eval(lua, [`${P}lua`], ['v1'])).toEqual([`${P}lua`, 'v1', 42, 'OK']);
    const sha = await redis.scriptLoad(lua);
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await redis.evalsha(sha, [`${P}lua`], ['v2'])).toEqual([`${P}lua`, 'v2', 42, 'OK']);
    expect(await redis.scriptExists(sha)).toEqual([1]);

    const unique = `return 'fresh-${Math.random()}'`;
    const script = redis.createScript<string>(unique);
    expect(String(await script.exec([], []))).toMatch(/^fresh-/);
    await expect(redis.evalsha('0'.repeat(40), [], [])).rejects.toThrow(
      'NOSCRIPT No matching script. Please use EVAL.',
    );
  });
});

describe('pipelines and transactions', () => {
  it('runs a pipeline with an erroring item and keeps going', async () => {
    const p = redis.pipeline();
    p.set(`${P}p1`, 'v');
    p.evalsha('0'.repeat(40), [], []);
    p.get(`${P}p1`);
    await expect(p.exec()).rejects.toThrow('NOSCRIPT No matching script. Please use EVAL.');
    const q = redis.pipeline();
    q.set(`${P}p2`, 'v');
    q.lpush(`${P}p2`, 'x');
    q.get(`${P}p2`);
    const results = await q.exec({ keepErrors: true });
    expect(results[0]).toEqual({ result: 'OK', error: undefined });
    expect(results[1]?.error).toMatch(/^WRONGTYPE/);
    expect(results[2]).toEqual({ result: 'v', error: undefined });
  });

  it('runs a transaction atomically, runtime errors per item', async () => {
    const tx = redis.multi();
    tx.set(`${P}tx`, 1);
    tx.incr(`${P}tx`);
    tx.lpush(`${P}tx`, 'x');
    tx.get(`${P}tx`);
    const results = await tx.exec({ keepErrors: true });
    expect(results.map((r) => r.result)).toEqual(['OK', 2, undefined, 2]);
    expect(results[2]?.error).toMatch(/^WRONGTYPE/);
  });

  it('never interleaves concurrent transactions', async () => {
    const key = `${P}counter`;
    const log = `${P}log`;
    await redis.del(key, log);
    const rounds = 40;
    const all = await Promise.all(
      Array.from({ length: rounds }, (_, i) => {
        const tx = redis.multi();
        tx.incr(key);
        tx.rpush(log, `a${i}`);
        tx.rpush(log, `b${i}`);
        tx.get(key);
        return tx.exec();
      }),
    );
    const counters = all.map((r) => r[0] as number);
    expect(new Set(counters).size).toBe(rounds);
    for (const r of all) expect(r[3]).toBe(r[0]);
    const entries = await direct.lrange(log, 0, -1);
    for (let i = 0; i < entries.length; i += 2) {
      expect(entries[i]?.slice(1)).toBe(entries[i + 1]?.slice(1));
    }
  });

  it('auto-pipelines many concurrent commands correctly', async () => {
    const n = 200;
    await Promise.all(Array.from({ length: n }, (_, i) => redis.set(`${P}ap:${i}`, i)));
    const values = await Promise.all(Array.from({ length: n }, (_, i) => redis.get(`${P}ap:${i}`)));
    expect(values).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});

describe('read-your-writes', () => {
  it('sends back a sync token that changes on every response', async () => {
    await redis.set(`${P}ryw`, 1);
    const first = redis.readYourWritesSyncToken;
    expect(first).toBeTruthy();
    await redis.get(`${P}ryw`);
    expect(redis.readYourWritesSyncToken).not.toBe(first);
    redis.readYourWritesSyncToken = 'my-new-sync-token';
    expect(await redis.get(`${P}ryw`)).toBe(1);
  });
});
