import { describe, expect, it } from 'vitest';
import {
  heartbeatScript,
  registerHostScript,
  unregisterHostScript,
} from '../../shared/scripts/index.js';
import { type EngineQueue, engineSuite, sleep } from './harness.js';

const suite = engineSuite('hosts');

/**
 * heartbeat for `host` with every slot token (vital signs unknown unless given); resolves
 * { live hosts, wasAlive }.
 */
async function heartbeat(
  q: EngineQueue,
  host: string,
  ttlMs: number,
  tokens: string[],
  vitals: { children?: number; rssBytes?: number } = {},
) {
  const [live, wasAlive] = await q.runArray(
    heartbeatScript,
    host,
    ttlMs,
    vitals.children ?? '',
    vitals.rssBytes ?? '',
    ...tokens,
  );
  return { live, wasAlive };
}

async function expectTtl(q: EngineQueue, key: string, ttlMs: number): Promise<void> {
  const ttl = await q.redis.pttl(key);
  expect(ttl).toBeGreaterThan(ttlMs - 5000);
  expect(ttl).toBeLessThanOrEqual(ttlMs);
}

describe('register-host script', () => {
  it('rebuilds the token hash (every token free) and announces the host, everything with a TTL', async () => {
    const q = suite.queue();
    // A key of the old layout (a list of free tokens) and a hash of an earlier run are replaced.
    await q.redis.rpush(q.keys.tokens('h'), 'stale-1', 'stale-2');
    await q.redis.hset(q.keys.host('h'), 'old', 'field');
    const before = await q.now();
    const now = Number(await q.run(registerHostScript, 'h', 30_000, '{"pid":42}', 'a', 'b', 'c'));
    const after = await q.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(after);

    expect(await q.redis.type(q.keys.tokens('h'))).toBe('hash');
    expect(await q.tokens('h')).toEqual({ a: '', b: '', c: '' });
    expect(await q.freeTokens('h')).toEqual(['a', 'b', 'c']);
    await expectTtl(q, q.keys.tokens('h'), 30_000);
    expect(await q.redis.hgetall(q.keys.host('h'))).toEqual({
      description: '{"pid":42}',
      startedAt: String(now),
      lastHeartbeatAt: String(now),
    });
    await expectTtl(q, q.keys.host('h'), 30_000);
    expect(await q.zset(q.keys.hosts)).toEqual({ h: now + 30_000 });
  });

  it('frees every token of a host that registers again (a restart)', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b']);
    await q.enqueue({ id: 't' });
    await q.claim('h', ['a']);
    expect(await q.tokens('h')).toEqual({ a: 't', b: '' });
    await q.registerHost('h', ['a', 'b']);
    expect(await q.tokens('h')).toEqual({ a: '', b: '' });
  });

  it('drops hosts whose heartbeat has expired', async () => {
    const q = suite.queue();
    await q.run(registerHostScript, 'dead', 1, '{}', 'a');
    await sleep(5);
    await q.run(registerHostScript, 'live', 60_000, '{}', 'a');
    expect(Object.keys(await q.zset(q.keys.hosts))).toEqual(['live']);
  });

  it('registers a host without slots and leaves no token hash', async () => {
    const q = suite.queue();
    await q.redis.hset(q.keys.tokens('h'), 'stale', '');
    await q.run(registerHostScript, 'h', 30_000, '{}');
    expect(await q.redis.exists(q.keys.tokens('h'))).toBe(0);
    expect(Object.keys(await q.zset(q.keys.hosts))).toEqual(['h']);
  });
});

describe('heartbeat script', () => {
  it('extends the TTLs of a live host and leaves its token hash as it is', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b', 'c'], 10_000);
    await q.enqueue({ id: 't' });
    await q.claim('h', ['b']);
    const before = await q.now();
    expect(await heartbeat(q, 'h', 40_000, ['a', 'b', 'c'])).toEqual({ live: 1, wasAlive: 1 });
    const after = await q.now();
    // The leased token keeps its task; the others stay free.
    expect(await q.tokens('h')).toEqual({ a: '', b: 't', c: '' });
    await expectTtl(q, q.keys.tokens('h'), 40_000);
    await expectTtl(q, q.keys.host('h'), 40_000);
    const expires = (await q.zset(q.keys.hosts)).h ?? 0;
    expect(expires).toBeGreaterThanOrEqual(before + 40_000);
    expect(expires).toBeLessThanOrEqual(after + 40_000);
  });

  it('re-creates a missing token hash with every token free, keeping wasAlive for a live host', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b'], 60_000);
    await q.redis.del(q.keys.tokens('h'));
    expect(await heartbeat(q, 'h', 20_000, ['a', 'b'])).toEqual({ live: 1, wasAlive: 1 });
    expect(await q.tokens('h')).toEqual({ a: '', b: '' });
    await expectTtl(q, q.keys.tokens('h'), 20_000);
  });

  it('registers a host again that was presumed dead, and says it was not alive', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b'], 1);
    await sleep(5);
    // Its TTL ran out: the hosts entry is stale and the token hash is gone.
    expect(await q.redis.exists(q.keys.tokens('h'))).toBe(0);
    expect((await q.claim('h', ['a'])).tasks).toEqual([]);
    expect(await heartbeat(q, 'h', 30_000, ['a', 'b'])).toEqual({ live: 1, wasAlive: 0 });
    expect(await q.tokens('h')).toEqual({ a: '', b: '' });
    await expectTtl(q, q.keys.tokens('h'), 30_000);
    expect(Object.keys(await q.zset(q.keys.hosts))).toEqual(['h']);
    // Alive again: it can lease.
    await q.enqueue({ id: 't' });
    expect((await q.claim('h', ['a'])).tasks.map((t) => t.id)).toEqual(['t']);
  });

  it('says a host that never registered was not alive, and announces it', async () => {
    const q = suite.queue();
    expect(await heartbeat(q, 'new', 30_000, ['a'])).toEqual({ live: 1, wasAlive: 0 });
    expect(await q.tokens('new')).toEqual({ a: '' });
    expect(Object.keys(await q.zset(q.keys.hosts))).toEqual(['new']);
  });

  it('keeps no token hash for a host without slots', async () => {
    const q = suite.queue();
    await q.registerHost('h', [], 10_000);
    expect(await heartbeat(q, 'h', 10_000, [])).toEqual({ live: 1, wasAlive: 1 });
    expect(await q.redis.exists(q.keys.tokens('h'))).toBe(0);
  });

  it('counts live hosts and forgets expired ones', async () => {
    const q = suite.queue();
    await q.registerHost('gone', ['x'], 1);
    await q.registerHost('h2', ['y'], 60_000);
    await sleep(5);
    const { live } = await heartbeat(q, 'h1', 60_000, ['a']);
    expect(live).toBe(2);
    expect(Object.keys(await q.zset(q.keys.hosts)).sort()).toEqual(['h1', 'h2']);
  });
});

describe('unregister-host script', () => {
  it('removes the host from the set and deletes its keys', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    await q.registerHost('other', ['b']);
    // A wake marker sent just before the host stopped waiting.
    await q.redis.rpush(q.keys.wake('h'), '1');
    expect(await q.run(unregisterHostScript, 'h')).toBe(1);
    expect(Object.keys(await q.zset(q.keys.hosts))).toEqual(['other']);
    expect(await q.redis.exists(q.keys.tokens('h'), q.keys.host('h'), q.keys.wake('h'))).toBe(0);
    expect(await q.tokens('other')).toEqual({ b: '' });
    // Unregistering twice is harmless.
    expect(await q.run(unregisterHostScript, 'h')).toBe(1);
  });

  it('records the last beat, live children and RSS in the host hash', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a'], 10_000);
    const before = await q.now();
    await heartbeat(q, 'h', 10_000, ['a'], { children: 3, rssBytes: 123_456_789 });
    const info = await q.redis.hgetall(q.keys.host('h'));
    expect(info).toMatchObject({ description: '{"pid":1}', children: '3', rssBytes: '123456789' });
    expect(Number(info.lastHeartbeatAt)).toBeGreaterThanOrEqual(before);
    // Unknown figures leave the last known ones.
    await heartbeat(q, 'h', 10_000, ['a']);
    expect(await q.redis.hgetall(q.keys.host('h'))).toMatchObject({ children: '3' });
    await expectTtl(q, q.keys.host('h'), 10_000);
  });

  it('samples the history and sweeps the search index, with no call of its own', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'kept' }, { id: 'gone' });
    await q.redis.del(q.keys.task('gone'));
    await heartbeat(q, 'h', 10_000, ['a']);
    const history = await q.redis.lrange(q.keys.history, 0, -1);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatch(/^\d+ 2 0 0 0$/);
    expect(await q.redis.pttl(q.keys.history)).toBeGreaterThan(0);
    expect(Object.keys(await q.zset(q.keys.recent))).toEqual(['kept']);
    // A second beat within the interval adds no sample.
    await heartbeat(q, 'h', 10_000, ['a']);
    expect(await q.redis.llen(q.keys.history)).toBe(1);
  });
});
