import { describe, expect, it } from 'vitest';
import {
  heartbeatScript,
  registerHostScript,
  unregisterHostScript,
} from '../../shared/scripts/index.js';
import { type EngineQueue, engineSuite, sleep } from './harness.js';

const suite = engineSuite('hosts');

/** heartbeat for `host`: `free` tokens made present, `busy` ones made absent. */
function heartbeat(q: EngineQueue, host: string, ttlMs: number, free: string[], busy: string[]) {
  return q.runArray(heartbeatScript, host, ttlMs, free.length, ...free, ...busy);
}

async function expectTtl(q: EngineQueue, key: string, ttlMs: number): Promise<void> {
  const ttl = await q.redis.pttl(key);
  expect(ttl).toBeGreaterThan(ttlMs - 5000);
  expect(ttl).toBeLessThanOrEqual(ttlMs);
}

describe('register-host script', () => {
  it('rebuilds the token list and announces the host, everything with a TTL', async () => {
    const q = suite.queue();
    await q.redis.rpush(q.keys.tokens('h'), 'stale-1', 'stale-2');
    await q.redis.hset(q.keys.host('h'), 'old', 'field');
    const before = await q.now();
    const now = Number(await q.run(registerHostScript, 'h', 30_000, '{"pid":42}', 'a', 'b', 'c'));
    const after = await q.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(after);

    expect(await q.tokens('h')).toEqual(['a', 'b', 'c']);
    await expectTtl(q, q.keys.tokens('h'), 30_000);
    expect(await q.redis.hgetall(q.keys.host('h'))).toEqual({
      description: '{"pid":42}',
      startedAt: String(now),
    });
    await expectTtl(q, q.keys.host('h'), 30_000);
    expect(await q.zset(q.keys.hosts)).toEqual({ h: now + 30_000 });
  });

  it('drops hosts whose heartbeat has expired', async () => {
    const q = suite.queue();
    await q.run(registerHostScript, 'dead', 1, '{}', 'a');
    await sleep(5);
    await q.run(registerHostScript, 'live', 60_000, '{}', 'a');
    expect(Object.keys(await q.zset(q.keys.hosts))).toEqual(['live']);
  });

  it('registers a host without slots and leaves no token list', async () => {
    const q = suite.queue();
    await q.redis.rpush(q.keys.tokens('h'), 'stale');
    await q.run(registerHostScript, 'h', 30_000, '{}');
    expect(await q.redis.exists(q.keys.tokens('h'))).toBe(0);
    expect(Object.keys(await q.zset(q.keys.hosts))).toEqual(['h']);
  });
});

describe('heartbeat script', () => {
  it('makes free tokens present, busy ones absent and leaves the others as they are', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b', 'c', 'd'], 10_000);
    // 'a' was claimed, so it is off the list; 'b' is busy on the host; 'c' is mid-claim.
    await q.redis.lrem(q.keys.tokens('h'), 0, 'a');
    const before = await q.now();
    const [live, now] = await heartbeat(q, 'h', 40_000, ['a', 'd'], ['b']);
    expect(live).toBe(1);
    expect(Number(now)).toBeGreaterThanOrEqual(before);
    expect(await q.tokens('h')).toEqual(['c', 'a', 'd']);
    await expectTtl(q, q.keys.tokens('h'), 40_000);
    await expectTtl(q, q.keys.host('h'), 40_000);
    expect(await q.zset(q.keys.hosts)).toEqual({ h: Number(now) + 40_000 });
  });

  it('never duplicates a free token', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b']);
    await heartbeat(q, 'h', 10_000, ['a', 'b', 'a'], []);
    expect(await q.tokens('h')).toEqual(['b', 'a']);
  });

  it('counts live hosts and forgets expired ones', async () => {
    const q = suite.queue();
    await q.registerHost('gone', ['x'], 1);
    await q.registerHost('h2', ['y'], 60_000);
    await sleep(5);
    const [live] = await heartbeat(q, 'h1', 60_000, ['a'], []);
    expect(live).toBe(2);
    expect(Object.keys(await q.zset(q.keys.hosts)).sort()).toEqual(['h1', 'h2']);
  });
});

describe('unregister-host script', () => {
  it('removes the host from the set and deletes its keys', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    await q.registerHost('other', ['b']);
    expect(await q.run(unregisterHostScript, 'h')).toBe(1);
    expect(Object.keys(await q.zset(q.keys.hosts))).toEqual(['other']);
    expect(await q.redis.exists(q.keys.tokens('h'), q.keys.host('h'))).toBe(0);
    expect(await q.tokens('other')).toEqual(['b']);
    // A host that is gone gets no token back when one of its runs ends.
    expect(await q.run(unregisterHostScript, 'h')).toBe(1);
  });
});
