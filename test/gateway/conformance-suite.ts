/**
 * The official Node client's command surface through the gateway: one representative call per
 * command family the client exposes (Redis 7.0 commands; Upstash-only extensions, JSON and search
 * are out of scope). Shared by conformance.test.ts (one Redis) and
 * test/cluster/gateway-conformance.test.ts (a Redis Cluster, with a prefix that is a hash tag, so
 * that every multi-key command names keys of one slot). The destructive ones are in
 * conformance-destructive.test.ts.
 */
import { Redis } from '@upstash/redis';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../support/gateway.js';

/** How {@link conformanceSuite} runs. */
export interface ConformanceOptions {
  /** The gateway under test (started by the caller's `beforeAll`, which runs first). */
  gw: () => TestGateway;
  /** Every key's prefix (on a cluster, a hash tag such as `{t:gw-conf}:`). */
  prefix: string;
  /** The gateway fronts a Redis Cluster: SCAN is refused, RANDOMKEY may answer nil. */
  cluster: boolean;
}

/** Defines the conformance tests (call at the top level of a test file). */
export function conformanceSuite(options: ConformanceOptions): void {
  const { gw } = options;
  const k = (name: string) => `${options.prefix}${name}`;
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis({ url: gw().url, token: gw().token, enableTelemetry: false });
  });

  describe('strings', () => {
    it('append, ranges, getset/getdel/getex, expiring sets, msetnx, counters', async () => {
      await redis.set(k('s'), 'Hello');
      expect(await redis.append(k('s'), ' World')).toBe(11);
      expect(await redis.getrange(k('s'), 0, 4)).toBe('Hello');
      expect(await redis.setrange(k('s'), 6, 'Redis')).toBe(11);
      expect(await redis.get(k('s'))).toBe('Hello Redis');
      expect(await redis.strlen(k('s'))).toBe(11);
      expect(await redis.getset(k('s'), 'new')).toBe('Hello Redis');
      expect(await redis.getex(k('s'), { ex: 100 })).toBe('new');
      expect(await redis.ttl(k('s'))).toBeGreaterThan(90);
      expect(await redis.getdel(k('s'))).toBe('new');
      expect(await redis.exists(k('s'))).toBe(0);
      expect(await redis.setex(k('ex'), 100, 'v')).toBe('OK');
      expect(await redis.psetex(k('px'), 100_000, 'v')).toBe('OK');
      expect(await redis.pttl(k('px'))).toBeGreaterThan(90_000);
      expect(await redis.setnx(k('nx'), 'v')).toBe(1);
      expect(await redis.setnx(k('nx'), 'v')).toBe(0);
      expect(await redis.mset({ [k('m1')]: 'a', [k('m2')]: 2 })).toBe('OK');
      expect(await redis.msetnx({ [k('m1')]: 'x', [k('m3')]: 'y' })).toBe(0);
      expect(await redis.mget(k('m1'), k('m2'), k('m3'))).toEqual(['a', 2, null]);
      expect(await redis.decr(k('c'))).toBe(-1);
      expect(await redis.decrby(k('c'), 9)).toBe(-10);
      expect(await redis.set(k('c'), 5, { get: true })).toBe(-10);
      expect(await redis.set(k('xx'), 1, { xx: true })).toBeNull();
      expect(await redis.set(k('px2'), 1, { px: 50_000, nx: true })).toBe('OK');
    });

    it('bit operations', async () => {
      expect(await redis.setbit(k('b1'), 7, 1)).toBe(0);
      expect(await redis.getbit(k('b1'), 7)).toBe(1);
      await redis.set(k('b2'), 'foobar');
      expect(await redis.bitcount(k('b2'), 0, -1)).toBe(26);
      expect(await redis.bitcount(k('b2'), 1, 1)).toBe(6);
      expect(await redis.bitpos(k('b1'), 1)).toBe(7);
      expect(await redis.bitop('or', k('b3'), k('b1'), k('b2'))).toBe(6);
      expect(await redis.bitop('not', k('b4'), k('b1'))).toBe(1);
      // The auto-pipelining proxy cannot chain bitfield() (a client limitation): use a plain client.
      const plain = new Redis({ url: gw().url, token: gw().token, enableAutoPipelining: false });
      expect(
        await plain.bitfield(k('bf')).set('u8', 0, 200).get('u8', 0).incrby('u8', 0, 100).exec(),
      ).toEqual([0, 200, 44]);
    });
  });

  describe('keys', () => {
    it('expire family, type, rename, copy, touch, unlink, scan, keys, randomkey, dbsize', async () => {
      await redis.set(k('key'), 'v');
      expect(await redis.expire(k('key'), 100)).toBe(1);
      expect(await redis.pexpire(k('key'), 200_000)).toBe(1);
      const at = Math.floor(Date.now() / 1000) + 300;
      expect(await redis.expireat(k('key'), at)).toBe(1);
      expect(await redis.pexpireat(k('key'), at * 1000)).toBe(1);
      expect(await redis.ttl(k('key'))).toBeGreaterThan(200);
      expect(await redis.persist(k('key'))).toBe(1);
      expect(await redis.ttl(k('key'))).toBe(-1);
      expect(await redis.type(k('key'))).toBe('string');
      expect(await redis.type(k('none'))).toBe('none');
      expect(await redis.rename(k('key'), k('key2'))).toBe('OK');
      await redis.set(k('other'), 'o');
      expect(await redis.renamenx(k('key2'), k('other'))).toBe(0);
      expect(await redis.copy(k('key2'), k('copy'))).toBe('COPIED');
      expect(await redis.copy(k('key2'), k('copy'))).toBe('NOT_COPIED');
      expect(await redis.copy(k('key2'), k('copy'), { replace: true })).toBe('COPIED');
      expect(await redis.touch(k('key2'), k('copy'), k('none'))).toBe(2);
      expect(await redis.exists(k('key2'), k('copy'))).toBe(2);
      expect(await redis.unlink(k('copy'))).toBe(1);
      expect(await redis.del(k('key2'), k('none'))).toBe(1);
      for (let i = 0; i < 15; i++) await redis.set(k(`scan:${i}`), i);
      if (options.cluster) {
        // SCAN's cursor walks one server: the gateway refuses it on a cluster (KEYS works).
        await expect(redis.scan(0, { match: k('scan:*') })).rejects.toThrow(
          /'scan' is not supported by the REST gateway on a Redis Cluster/,
        );
      } else {
        const seen = new Set<string>();
        let cursor: string | number = 0;
        do {
          const [next, keys]: [string | number, string[]] = await redis.scan(cursor, {
            match: k('scan:*'),
            count: 5,
          });
          for (const key of keys) seen.add(key);
          cursor = next;
        } while (String(cursor) !== '0');
        expect(seen.size).toBe(15);
        const [, typed] = await redis.scan(0, { match: k('scan:*'), count: 1000, type: 'string' });
        expect(typed.length).toBe(15);
      }
      expect((await redis.keys(k('scan:1*'))).sort()).toEqual(
        [k('scan:1'), ...[10, 11, 12, 13, 14].map((i) => k(`scan:${i}`))].sort(),
      );
      // On a cluster RANDOMKEY asks one master, which may hold no key (nil).
      expect(['string', ...(options.cluster ? ['object'] : [])]).toContain(
        typeof (await redis.randomkey()),
      );
      expect(await redis.dbsize()).toBeGreaterThan(0);
    });
  });

  describe('hashes', () => {
    it('hset/hsetnx/hmset, reads, increments, hscan, hrandfield', async () => {
      expect(await redis.hset(k('h'), { f1: 'v1', f2: 2 })).toBe(2);
      expect(await redis.hsetnx(k('h'), 'f1', 'x')).toBe(0);
      expect(await redis.hmset(k('h'), { f3: 'v3' })).toBe('OK');
      expect(await redis.hexists(k('h'), 'f3')).toBe(1);
      expect(await redis.hstrlen(k('h'), 'f1')).toBe(2);
      expect(await redis.hincrbyfloat(k('h'), 'f2', 0.5)).toBe(2.5);
      expect((await redis.hvals(k('h'))).sort()).toEqual([2.5, 'v1', 'v3'].sort());
      expect(await redis.hdel(k('h'), 'f3')).toBe(1);
      const [cursor, fields] = await redis.hscan(k('h'), 0, { match: 'f*' });
      expect(String(cursor)).toBe('0');
      expect(fields).toEqual(['f1', 'v1', 'f2', 2.5]);
      expect(['f1', 'f2']).toContain(await redis.hrandfield(k('h')));
      expect(await redis.hrandfield(k('h'), 2, true)).toEqual({ f1: 'v1', f2: 2.5 });
      expect(await redis.hgetall(k('nohash'))).toBeNull();
    });
  });

  describe('lists', () => {
    it('pushx, insert, index, set, rem, trim, lpos, lmove, lmpop', async () => {
      expect(await redis.lpushx(k('nolist'), 'a')).toBe(0);
      await redis.rpush(k('l'), 'a', 'b', 'c', 'b');
      expect(await redis.rpushx(k('l'), 'd')).toBe(5);
      expect(await redis.linsert(k('l'), 'before', 'c', 'x')).toBe(6);
      expect(await redis.lindex(k('l'), 2)).toBe('x');
      expect(await redis.lset(k('l'), 0, 'A')).toBe('OK');
      expect(await redis.lpos(k('l'), 'b')).toBe(1);
      expect(await redis.lpos(k('l'), 'b', { rank: 2 })).toBe(4);
      expect(await redis.lpos(k('l'), 'b', { count: 0 })).toEqual([1, 4]);
      expect(await redis.lrem(k('l'), 0, 'b')).toBe(2);
      expect(await redis.ltrim(k('l'), 0, 2)).toBe('OK');
      expect(await redis.lrange(k('l'), 0, -1)).toEqual(['A', 'x', 'c']);
      expect(await redis.lmove(k('l'), k('l2'), 'left', 'right')).toBe('A');
      expect(await redis.lmpop(2, [k('none'), k('l')], 'RIGHT', 2)).toEqual([k('l'), ['c', 'x']]);
      expect(await redis.lmpop(1, [k('none')], 'LEFT')).toBeNull();
    });
  });

  describe('sets', () => {
    it('algebra, cardinality, moves, pops, sscan', async () => {
      await redis.sadd(k('s1'), 'a', 'b', 'c');
      await redis.sadd(k('s2'), 'b', 'c', 'd');
      expect((await redis.sinter(k('s1'), k('s2'))).sort()).toEqual(['b', 'c']);
      expect((await redis.sunion(k('s1'), k('s2'))).sort()).toEqual(['a', 'b', 'c', 'd']);
      expect(await redis.sdiff(k('s1'), k('s2'))).toEqual(['a']);
      expect(await redis.sinterstore(k('s3'), k('s1'), k('s2'))).toBe(2);
      expect(await redis.sunionstore(k('s4'), k('s1'), k('s2'))).toBe(4);
      expect(await redis.sdiffstore(k('s5'), k('s1'), k('s2'))).toBe(1);
      expect(await redis.sintercard([k('s1'), k('s2')])).toBe(2);
      expect(await redis.sintercard([k('s1'), k('s2')], { limit: 1 })).toBe(1);
      expect(await redis.smismember(k('s1'), ['a', 'z'])).toEqual([1, 0]);
      expect(await redis.smove(k('s1'), k('s2'), 'a')).toBe(1);
      expect(await redis.srem(k('s2'), 'a')).toBe(1);
      expect(['b', 'c']).toContain(await redis.srandmember(k('s1')));
      expect((await redis.srandmember<string[]>(k('s1'), 5))?.sort()).toEqual(['b', 'c']);
      const [cursor, members] = await redis.sscan(k('s2'), 0, { match: '*' });
      expect(String(cursor)).toBe('0');
      expect(members.sort()).toEqual(['b', 'c', 'd']);
      expect(['b', 'c']).toContain(await redis.spop(k('s1')));
      expect(await redis.scard(k('s1'))).toBe(1);
    });
  });

  describe('sorted sets', () => {
    it('zadd options, ranges (rank, score, lex, rev, limit), counts, ranks, removals', async () => {
      await redis.zadd(
        k('z'),
        { score: 1, member: 'a' },
        { score: 2, member: 'b' },
        { score: 3, member: 'c' },
      );
      expect(await redis.zadd(k('z'), { nx: true }, { score: 10, member: 'a' })).toBe(0);
      expect(await redis.zadd(k('z'), { xx: true, ch: true }, { score: 1.5, member: 'a' })).toBe(1);
      expect(await redis.zadd(k('z'), { incr: true }, { score: 1, member: 'a' })).toBe(2.5);
      expect(await redis.zrange(k('z'), 0, -1)).toEqual(['b', 'a', 'c']);
      expect(await redis.zrange(k('z'), 0, 1, { rev: true })).toEqual(['c', 'a']);
      expect(await redis.zrange(k('z'), '(2', '+inf', { byScore: true, withScores: true })).toEqual(
        ['a', 2.5, 'c', 3],
      );
      expect(await redis.zrange(k('z'), 0, 10, { byScore: true, offset: 1, count: 1 })).toEqual([
        'a',
      ]);
      expect(await redis.zcount(k('z'), 2, 3)).toBe(3);
      expect(await redis.zrank(k('z'), 'c')).toBe(2);
      expect(await redis.zrevrank(k('z'), 'c')).toBe(0);
      expect(await redis.zmscore(k('z'), ['a', 'zz'])).toEqual([2.5, null]);
      await redis.zadd(
        k('lex'),
        { score: 0, member: 'a' },
        { score: 0, member: 'b' },
        { score: 0, member: 'c' },
      );
      expect(await redis.zlexcount(k('lex'), '[a', '(c')).toBe(2);
      expect(await redis.zrange(k('lex'), '[b', '+', { byLex: true })).toEqual(['b', 'c']);
      expect(await redis.zremrangebylex(k('lex'), '[a', '[a')).toBe(1);
      expect(await redis.zremrangebyrank(k('lex'), 0, 0)).toBe(1);
      expect(await redis.zremrangebyscore(k('lex'), '-inf', '+inf')).toBe(1);
      expect(await redis.zrem(k('z'), 'zz', 'b')).toBe(1);
      const [cursor, entries] = await redis.zscan(k('z'), 0);
      expect(String(cursor)).toBe('0');
      expect(entries).toEqual(['a', 2.5, 'c', 3]);
      expect(await redis.zpopmin(k('z'))).toEqual(['a', 2.5]);
      expect(await redis.zpopmax(k('z'), 5)).toEqual(['c', 3]);
    });

    it('zunion, zunionstore, zinterstore, zdiffstore; ZINTER/ZDIFF via the raw protocol', async () => {
      await redis.zadd(k('za'), { score: 1, member: 'x' }, { score: 2, member: 'y' });
      await redis.zadd(k('zb'), { score: 10, member: 'y' }, { score: 20, member: 'z' });
      expect(await redis.zunion(2, [k('za'), k('zb')], { withScores: true })).toEqual([
        'x',
        1,
        'y',
        12,
        'z',
        20,
      ]);
      expect(await redis.zunion(2, [k('za'), k('zb')], { aggregate: 'max' })).toEqual([
        'x',
        'y',
        'z',
      ]);
      expect(await redis.zunionstore(k('zu'), 2, [k('za'), k('zb')], { weights: [2, 1] })).toBe(3);
      expect(await redis.zscore(k('zu'), 'y')).toBe(14);
      expect(await redis.zinterstore(k('zi'), 2, [k('za'), k('zb')], { aggregate: 'min' })).toBe(1);
      expect(await redis.zscore(k('zi'), 'y')).toBe(2);
      expect(await redis.zdiffstore(k('zd'), 2, k('za'), k('zb'))).toBe(1);
      expect(await redis.zrange(k('zd'), 0, -1)).toEqual(['x']);
      const res = await fetch(`${gw().url}/pipeline`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw().token}` },
        body: JSON.stringify([
          ['ZINTER', 2, k('za'), k('zb'), 'WITHSCORES'],
          ['ZDIFF', 2, k('za'), k('zb')],
          ['ZINTERCARD', 2, k('za'), k('zb')],
          ['ZRANGESTORE', k('zr'), k('za'), 0, -1],
        ]),
      });
      expect(await res.json()).toEqual([
        { result: ['y', '12'] },
        { result: ['x'] },
        { result: 1 },
        { result: 2 },
      ]);
    });
  });

  describe('geo and hyperloglog', () => {
    it('geoadd, geopos, geodist, geohash, geosearch, geosearchstore', async () => {
      expect(
        await redis.geoadd(
          k('geo'),
          { longitude: 13.361389, latitude: 38.115556, member: 'Palermo' },
          { longitude: 15.087269, latitude: 37.502669, member: 'Catania' },
        ),
      ).toBe(2);
      const [pos] = await redis.geopos(k('geo'), 'Palermo');
      expect(Number(pos?.lng)).toBeCloseTo(13.361389, 4);
      expect(await redis.geodist(k('geo'), 'Palermo', 'Catania', 'KM')).toBeCloseTo(166.2742, 3);
      expect(await redis.geohash(k('geo'), 'Palermo')).toEqual(['sqc8b49rny0']);
      const found = await redis.geosearch(
        k('geo'),
        { type: 'FROMLONLAT', coordinate: { lon: 15, lat: 37 } },
        { type: 'BYRADIUS', radius: 200, radiusType: 'KM' },
        'ASC',
        { withDist: true },
      );
      expect(found.map((f) => f.member)).toEqual(['Catania', 'Palermo']);
      expect(
        await redis.geosearchstore(
          k('geo2'),
          k('geo'),
          { type: 'FROMMEMBER', member: 'Palermo' },
          { type: 'BYBOX', rect: { width: 400, height: 400 }, rectType: 'KM' },
          'DESC',
        ),
      ).toBe(2);
    });

    it('pfadd, pfcount, pfmerge', async () => {
      expect(await redis.pfadd(k('hll1'), 'a', 'b', 'c')).toBe(1);
      await redis.pfadd(k('hll2'), 'c', 'd');
      expect(await redis.pfcount(k('hll1'), k('hll2'))).toBe(4);
      expect(await redis.pfmerge(k('hll3'), k('hll1'), k('hll2'))).toBe('OK');
      expect(await redis.pfcount(k('hll3'))).toBe(4);
    });
  });

  describe('streams', () => {
    it('xadd, xrange/xrevrange, groups, xreadgroup, xack, xpending, xclaim, xautoclaim, xinfo, xdel, xtrim, xread', async () => {
      const s = k('stream');
      const id1 = await redis.xadd(s, '1-1', { a: '1' });
      const id2 = await redis.xadd(s, '2-1', { b: '2' });
      await redis.xadd(
        s,
        '*',
        { c: '3' },
        { trim: { type: 'MAXLEN', threshold: 10, comparison: '=' } },
      );
      expect([id1, id2]).toEqual(['1-1', '2-1']);
      expect(await redis.xrange(s, '-', '2-1')).toEqual({ '1-1': { a: 1 }, '2-1': { b: 2 } });
      expect(Object.keys(await redis.xrevrange(s, '+', '-', 1))).toHaveLength(1);
      expect(await redis.xgroup(s, { type: 'CREATE', group: 'g', id: '0' })).toBe('OK');
      expect(await redis.xgroup(s, { type: 'CREATECONSUMER', group: 'g', consumer: 'c2' })).toBe(1);
      const read = (await redis.xreadgroup('g', 'c1', s, '>', { count: 2 })) as unknown[];
      expect(read).toEqual([
        [
          s,
          [
            ['1-1', ['a', 1]],
            ['2-1', ['b', 2]],
          ],
        ],
      ]);
      expect(await redis.xack(s, 'g', '1-1')).toBe(1);
      const pending = (await redis.xpending(s, 'g', '-', '+', 10)) as unknown[][];
      expect(pending.map((p) => p[0])).toEqual(['2-1']);
      const claimed = (await redis.xclaim(s, 'g', 'c2', 0, '2-1', { justId: true })) as unknown[];
      expect(claimed).toEqual(['2-1']);
      const auto = (await redis.xautoclaim(s, 'g', 'c1', 0, '0-0', { count: 10 })) as unknown[];
      expect(auto[0]).toBe('0-0');
      expect(auto[1]).toEqual([['2-1', ['b', 2]]]);
      const groups = (await redis.xinfo(s, { type: 'GROUPS' })) as unknown[][];
      expect(groups[0]?.slice(0, 2)).toEqual(['name', 'g']);
      const consumers = (await redis.xinfo(s, { type: 'CONSUMERS', group: 'g' })) as unknown[][];
      expect(consumers.map((c) => c[1]).sort()).toEqual(['c1', 'c2']);
      expect(await redis.xread(s, '0-0', { count: 1 })).toEqual([[s, [['1-1', ['a', 1]]]]]);
      expect(await redis.xdel(s, '1-1')).toBe(1);
      // Exact trimming: with the default '~' real Redis trims lazily (Upstash trims exactly).
      expect(await redis.xtrim(s, { strategy: 'MAXLEN', threshold: 1, exactness: '=' })).toBe(1);
      expect(await redis.xlen(s)).toBe(1);
      expect(await redis.xgroup(s, { type: 'DESTROY', group: 'g' })).toBe(1);
    });
  });

  describe('scripts and functions', () => {
    it('eval/evalRo/evalsha/evalshaRo, scriptLoad/scriptExists', async () => {
      await redis.set(k('lua'), 'value');
      expect(await redis.evalRo("return redis.call('GET', KEYS[1])", [k('lua')], [])).toBe('value');
      const sha = await redis.scriptLoad("return redis.call('GET', KEYS[1])");
      expect(await redis.evalshaRo(sha, [k('lua')], [])).toBe('value');
      expect(await redis.scriptExists(sha, 'f'.repeat(40))).toEqual([1, 0]);
      expect(await redis.eval('return {1, {2, {3, "x"}}, "OK"}', [], [])).toEqual([
        1,
        [2, [3, 'x']],
        'OK',
      ]);
      const ro = redis.createScript<string, true>("return redis.call('GET', KEYS[1])", {
        readonly: true,
      });
      expect(await ro.exec([k('lua')], [])).toBe('value');
    });

    it('FUNCTION LOAD / LIST / STATS, FCALL / FCALL_RO, FUNCTION DELETE', async () => {
      const lib = `gwconf${Math.random().toString(36).slice(2, 8)}`;
      const code = `#!lua name=${lib}
  redis.register_function('${lib}_echo', function(keys, args) return args[1] end)
  redis.register_function{function_name='${lib}_get', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}`;
      try {
        expect(await redis.functions.load({ code })).toBe(lib);
        expect(await redis.functions.load({ code, replace: true })).toBe(lib);
        expect(await redis.functions.call(`${lib}_echo`, [], ['hi'])).toBe('hi');
        expect(await redis.functions.callRo(`${lib}_get`, [k('lua')])).toBe('value');
        const [listed] = await redis.functions.list({ libraryName: lib, withCode: true });
        expect(listed?.libraryName).toBe(lib);
        expect(listed?.functions.map((f) => f.name).sort()).toEqual([`${lib}_echo`, `${lib}_get`]);
        expect(listed?.libraryCode).toBe(code);
        const stats = await redis.functions.stats();
        expect(stats.engines.LUA?.librariesCount).toBeGreaterThanOrEqual(1);
      } finally {
        expect(await redis.functions.delete(lib)).toBe('OK');
      }
    });
  });

  describe('generic exec', () => {
    it('runs Redis 7.0 commands without a typed method (ZINTER, ZDIFF, LCS, OBJECT, SORT_RO)', async () => {
      await redis.zadd(k('ga'), { score: 1, member: 'x' }, { score: 2, member: 'y' });
      await redis.zadd(k('gb'), { score: 5, member: 'y' });
      expect(await redis.exec(['ZINTER', 2, k('ga'), k('gb'), 'WITHSCORES'])).toEqual(['y', 7]);
      expect(await redis.exec(['ZDIFF', 2, k('ga'), k('gb')])).toEqual(['x']);
      await redis.mset({ [k('lcs1')]: 'ohmytext', [k('lcs2')]: 'mynewtext' });
      expect(await redis.exec(['LCS', k('lcs1'), k('lcs2')])).toBe('mytext');
      expect(await redis.exec(['OBJECT', 'ENCODING', k('ga')])).toBe('listpack');
      await redis.rpush(k('sort'), 3, 1, 2);
      expect(await redis.exec(['SORT_RO', k('sort')])).toEqual([1, 2, 3]);
      await expect(redis.exec(['BLPOP', k('sort'), 0])).rejects.toThrow(
        /'blpop' is not supported by the REST gateway/,
      );
      await expect(redis.clientSetinfo('LIB-NAME', 'x')).rejects.toThrow(
        /'client' is not supported/,
      );
    });
  });

  describe('server and connection commands', () => {
    it('ping, echo, time, publish', async () => {
      expect(await redis.ping()).toBe('PONG');
      expect(await redis.ping(['hello'])).toBe('hello');
      expect(await redis.echo('echoed')).toBe('echoed');
      const [seconds, micros] = await redis.time();
      expect(Math.abs(Number(seconds) - Date.now() / 1000)).toBeLessThan(5);
      expect(Number(micros)).toBeGreaterThanOrEqual(0);
      expect(await redis.publish(k('chan'), 'nobody listens')).toBe(0);
    });
  });
}
