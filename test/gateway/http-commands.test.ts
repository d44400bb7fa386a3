/**
 * Raw HTTP against the gateway, part 2: encoding at every depth, refused commands, read-only
 * tokens and the allowlist. Part 1 is http.test.ts.
 */
import type { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deleteKeysByPrefix, testRedis } from '../support/redis.js';
import { b64, call } from './http-call.js';

const P = 't:gw-http2:';
let gw: TestGateway;
let edgeOnly: TestGateway;
let direct: IORedis;

beforeAll(async () => {
  [gw, edgeOnly] = await Promise.all([startTestGateway(), startTestGateway({ allow: 'forklift' })]);
  direct = testRedis();
});

afterAll(async () => {
  await deleteKeysByPrefix(direct, P);
  direct.disconnect();
  await Promise.all([gw?.close(), edgeOnly?.close()]);
});

describe('Upstash-Encoding: base64', () => {
  it('encodes every string at every depth; OK literal only at the top; numbers and nil raw', async () => {
    expect((await call(gw, '/', { body: ['SET', `${P}e`, 'OK'], b64: true })).body).toEqual({
      result: 'OK',
    });
    expect((await call(gw, '/', { body: ['PING'], b64: true })).body).toEqual({
      result: b64('PONG'),
    });
    expect((await call(gw, '/', { body: ['TYPE', `${P}e`], b64: true })).body).toEqual({
      result: b64('string'),
    });
    expect((await call(gw, '/', { body: ['GET', `${P}none`], b64: true })).body).toEqual({
      result: null,
    });
    expect((await call(gw, '/', { body: ['SET', `${P}empty`, ''], b64: true })).body).toEqual({
      result: 'OK',
    });
    expect((await call(gw, '/', { body: ['GET', `${P}empty`], b64: true })).body).toEqual({
      result: '',
    });
    const lua = `return {'OK', 7, {'a', {redis.status_reply('OK'), false}}, redis.call('PING')}`;
    const nested = await call(gw, '/', { body: ['EVAL', lua, 0], b64: true });
    expect(nested.body).toEqual({
      result: [b64('OK'), 7, [b64('a'), [b64('OK'), null]], b64('PONG')],
    });
    const pipe = await call(gw, '/pipeline', {
      body: [
        ['SET', `${P}e2`, 'v'],
        ['MGET', `${P}e2`, `${P}none`],
        ['INCR', `${P}e2`],
      ],
      b64: true,
    });
    expect(pipe.body).toEqual([
      { result: 'OK' },
      { result: [b64('v'), null] },
      { error: 'ERR value is not an integer or out of range' },
    ]);
  });

  it('writes integers beyond 2^53 with their exact digits', async () => {
    const a = await call(gw, '/', { body: ['INCRBY', `${P}huge`, '9007199254740993'] });
    expect(a.text).toBe('{"result":9007199254740993}');
    const b = await call(gw, '/', {
      body: ['INCRBY', `${P}neg`, '-9223372036854775808'],
      b64: true,
    });
    expect(b.text).toBe('{"result":-9223372036854775808}');
  });

  it('without the header, answers UTF-8 text with invalid bytes replaced', async () => {
    await direct.set(`${P}bad`, Buffer.from([0x61, 0xff, 0x62, 0xe2, 0x82]));
    const a = await call(gw, '/', { body: ['GET', `${P}bad`] });
    expect(a.body).toEqual({ result: 'a\uFFFDb\uFFFD' });
    const ok = await call(gw, '/', { body: ['GET', `${P}bad`], b64: true });
    expect(Buffer.from((ok.body as { result: string }).result, 'base64')).toEqual(
      Buffer.from([0x61, 0xff, 0x62, 0xe2, 0x82]),
    );
  });

  it('converts JSON numbers and booleans as JavaScript String() does', async () => {
    await call(gw, '/', {
      body: ['MSET', `${P}n1`, 99.5, `${P}n2`, 1e21, `${P}n3`, true, `${P}n4`, -0],
    });
    expect(await direct.mget(`${P}n1`, `${P}n2`, `${P}n3`, `${P}n4`)).toEqual([
      '99.5',
      '1e+21',
      'true',
      '0',
    ]);
  });

  it('answers a nested error reply as its message string', async () => {
    const a = await call(gw, '/', { body: ['EVAL', "return {1, redis.error_reply('boom')}", 0] });
    expect(a.status).toBe(200);
    const result = (a.body as { result: unknown[] }).result;
    expect(result[0]).toBe(1);
    expect(String(result[1])).toMatch(/boom/);
  });
});

describe('refused commands', () => {
  const refused = [
    ['BLPOP', `${P}q`, 0],
    ['brpop', `${P}q`, 1],
    ['BZPOPMIN', `${P}q`, 0],
    ['BLMOVE', `${P}a`, `${P}b`, 'LEFT', 'RIGHT', 0],
    ['XREAD', 'COUNT', 1, 'BLOCK', 0, 'STREAMS', `${P}s`, '$'],
    ['XREADGROUP', 'GROUP', 'g', 'c', 'block', 10, 'STREAMS', `${P}s`, '>'],
    ['SELECT', 1],
    ['AUTH', 'x'],
    ['HELLO', 3],
    ['CLIENT', 'SETNAME', 'x'],
    ['MONITOR'],
    ['WATCH', `${P}a`],
    ['MULTI'],
    ['EXEC'],
    ['SUBSCRIBE', 'chan'],
    ['QUIT'],
    ['WAIT', 1, 0],
    ['SHUTDOWN', 'NOSAVE'],
    ['CONFIG', 'SET', 'maxmemory', '1'],
    ['DEBUG', 'SLEEP', '0'],
    ['REPLICAOF', '127.0.0.1', '1'],
    ['ACL', 'WHOAMI'],
  ];

  it('refuses with 400 and a clear error on /', async () => {
    for (const command of refused) {
      const a = await call(gw, '/', { body: command });
      expect(a.status, String(command[0])).toBe(400);
      expect((a.body as { error: string }).error).toMatch(
        new RegExp(
          `^ERR command '${String(command[0]).toLowerCase()}' is not supported by the REST gateway`,
        ),
      );
    }
    const nonBlocking = await call(gw, '/', {
      body: ['XREAD', 'COUNT', 1, 'STREAMS', 'block', '0'],
    });
    expect(nonBlocking).toMatchObject({ status: 200, body: { result: null } });
  });

  it('answers a refused item per item in a pipeline, and runs the rest', async () => {
    const a = await call(gw, '/pipeline', {
      body: [
        ['SET', `${P}r1`, 'v'],
        ['BLPOP', `${P}q`, 0],
        ['GET', `${P}r1`],
      ],
    });
    expect(a.status).toBe(200);
    expect(a.body).toEqual([
      { result: 'OK' },
      { error: expect.stringMatching(/^ERR command 'blpop' is not supported/) },
      { result: 'v' },
    ]);
  });

  it('discards a transaction holding a refused or unknown command (400), running nothing', async () => {
    const a = await call(gw, '/multi-exec', {
      body: [
        ['SET', `${P}t1`, 'v'],
        ['SELECT', 2],
      ],
    });
    expect(a.status).toBe(400);
    expect((a.body as { error: string }).error).toMatch(
      /^EXECABORT Transaction discarded because of: ERR command 'select'/,
    );
    const b = await call(gw, '/multi-exec', {
      body: [['SET', `${P}t1`, 'v'], ['NOSUCH'], ['SET', `${P}t2`, 'v', 'EX']],
    });
    expect(b.status).toBe(400);
    expect((b.body as { error: string }).error).toMatch(
      /^EXECABORT Transaction discarded because of: ERR unknown command 'NOSUCH'/,
    );
    expect(await direct.exists(`${P}t1`, `${P}t2`)).toBe(0);
    expect(await call(gw, '/multi-exec', { body: [] })).toMatchObject({ status: 200, body: [] });
    expect(await call(gw, '/pipeline', { body: [] })).toMatchObject({ status: 200, body: [] });
  });
});

describe('read-only tokens and the allowlist', () => {
  it('limits a read-only token to read commands', async () => {
    await direct.set(`${P}ro`, 'v');
    const ro = { token: gw.readonlyToken };
    expect(await call(gw, '/', { body: ['GET', `${P}ro`], ...ro })).toMatchObject({
      status: 200,
      body: { result: 'v' },
    });
    expect(await call(gw, '/', { body: ['EVAL_RO', 'return 1', 0], ...ro })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^NOPERM read-only tokens may run only Forklift's/) },
    });
    expect(await call(gw, '/', { body: ['XINFO', 'HELP'], ...ro })).toMatchObject({ status: 400 });
    for (const command of [
      ['SET', `${P}ro`, 'x'],
      ['EVAL', 'return 1', 0],
      ['FLUSHALL'],
      ['SCRIPT', 'FLUSH'],
    ]) {
      const a = await call(gw, '/', { body: command, ...ro });
      expect(a.status).toBe(400);
      expect((a.body as { error: string }).error).toMatch(/^NOPERM this user has no permissions/);
    }
    const pipe = await call(gw, '/pipeline', {
      body: [
        ['GET', `${P}ro`],
        ['DEL', `${P}ro`],
      ],
      ...ro,
    });
    expect(pipe.body).toEqual([{ result: 'v' }, { error: expect.stringMatching(/^NOPERM/) }]);
    expect(
      await call(gw, '/multi-exec', {
        body: [
          ['GET', `${P}ro`],
          ['DEL', `${P}ro`],
        ],
        ...ro,
      }),
    ).toMatchObject({
      status: 400,
    });
    expect(await direct.get(`${P}ro`)).toBe('v');
  });

  it('the forklift preset allows exactly the edge commands', async () => {
    expect(await call(edgeOnly, '/', { body: ['PING'] })).toMatchObject({ status: 200 });
    expect(await call(edgeOnly, '/', { body: ['SCRIPT', 'EXISTS', 'f'.repeat(40)] })).toMatchObject(
      { status: 200, body: { result: [0] } },
    );
    for (const command of [
      ['SCRIPT', 'LOAD', 'return 1'],
      ['EVALSHA', 'f'.repeat(40), 0],
    ]) {
      const a = await call(edgeOnly, '/', { body: command });
      expect(a.status).toBe(400);
      expect((a.body as { error: string }).error).toMatch(
        /^NOPERM FORKLIFT_GATEWAY_ALLOW=forklift lets '.*' run only Forklift's own scripts/,
      );
    }
    for (const command of [
      ['GET', `${P}ro`],
      ['SET', `${P}x`, 'v'],
      ['SCRIPT', 'FLUSH'],
      ['KEYS', '*'],
      ['FLUSHDB'],
    ]) {
      const a = await call(edgeOnly, '/', { body: command });
      expect(a.status).toBe(400);
      expect((a.body as { error: string }).error).toMatch(
        /^NOPERM command '.*' is not in this gateway's allowlist/,
      );
    }
  });
});
