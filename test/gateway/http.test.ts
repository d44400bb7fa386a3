/**
 * Raw HTTP against the gateway: what the official client does not check (status codes, JSON
 * error bodies, `_token`, path-style commands, refusals, body limit, encoding at every depth,
 * read-only tokens, allowlist).
 */
import { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const P = 't:gw-http:';
let gw: TestGateway;
let small: TestGateway;
let edgeOnly: TestGateway;
let direct: IORedis;

interface Answer {
  status: number;
  text: string;
  body: unknown;
  headers: Headers;
}

async function call(
  target: TestGateway,
  path: string,
  init: {
    method?: string;
    body?: unknown;
    token?: string | null;
    b64?: boolean;
    raw?: BodyInit;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const token = init.token === undefined ? target.token : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (init.b64) headers['upstash-encoding'] = 'base64';
  const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  const res = await fetch(`${target.url}${path}`, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, text, body: parsed, headers: res.headers };
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

beforeAll(async () => {
  [gw, small, edgeOnly] = await Promise.all([
    startTestGateway(),
    startTestGateway({ config: { maxBodyBytes: 1024 } }),
    startTestGateway({ allow: 'forklift' }),
  ]);
  direct = new IORedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
});

afterAll(async () => {
  const keys = await direct.keys(`${P}*`);
  if (keys.length > 0) await direct.del(...keys);
  direct.disconnect();
  await Promise.all([gw?.close(), small?.close(), edgeOnly?.close()]);
});

describe('status codes and JSON bodies', () => {
  it('200 with {"result"} and a sync token on every response', async () => {
    const a = await call(gw, '/', { body: ['SET', `${P}a`, 'v'] });
    expect(a).toMatchObject({ status: 200, body: { result: 'OK' } });
    expect(a.headers.get('content-type')).toBe('application/json');
    const b = await call(gw, '/', { body: ['NOSUCHCOMMAND'] });
    const c = await call(gw, '/', { body: ['GET', `${P}a`], token: 'wrong' });
    const tokens = [a, b, c].map((x) => Number(x.headers.get('upstash-sync-token')));
    expect(tokens.every((t) => t > 0)).toBe(true);
    expect(new Set(tokens).size).toBe(3);
  });

  it('400 with the Redis error text verbatim', async () => {
    await call(gw, '/', { body: ['SET', `${P}str`, 'abc'] });
    expect(await call(gw, '/', { body: ['INCR', `${P}str`] })).toMatchObject({
      status: 400,
      body: { error: 'ERR value is not an integer or out of range' },
    });
    expect(await call(gw, '/', { body: ['EVALSHA', 'f'.repeat(40), 0] })).toMatchObject({
      status: 400,
      body: { error: 'NOSCRIPT No matching script. Please use EVAL.' },
    });
    const unknown = await call(gw, '/', { body: ['nosuchcommand', 'x'] });
    expect(unknown.status).toBe(400);
    expect((unknown.body as { error: string }).error).toMatch(
      /^ERR unknown command 'nosuchcommand'/,
    );
  });

  it('400 for malformed requests', async () => {
    for (const raw of [
      '{not json',
      '{"a":1}',
      '[]',
      '[["GET","x"]]',
      '"GET"',
      '[null]',
      '["SET","k",null]',
      '["SET","k",{"a":1}]',
    ]) {
      const a = await call(gw, '/', { raw });
      expect(a.status, raw).toBe(400);
      expect((a.body as { error: string }).error, raw).toMatch(/^ERR /);
    }
    for (const raw of ['{"a":1}', '[1,2]', '[["GET"],"x"]', '[[]]', 'nope']) {
      for (const path of ['/pipeline', '/multi-exec']) {
        const a = await call(gw, path, { raw });
        expect(a.status, `${path} ${raw}`).toBe(400);
        expect((a.body as { error: string }).error).toMatch(/^ERR /);
      }
    }
  });

  it('401 for a missing or wrong token, with a JSON body', async () => {
    for (const token of [null, 'wrong', `${gw.token}x`, gw.token.slice(0, -1)]) {
      const a = await call(gw, '/', { body: ['PING'], token });
      expect(a).toMatchObject({ status: 401, body: { error: 'Unauthorized' } });
    }
    const bad = await fetch(`${gw.url}/`, {
      method: 'POST',
      headers: { authorization: `Basic ${gw.token}` },
      body: '["PING"]',
    });
    expect(bad.status).toBe(401);
    expect(await call(gw, '/pipeline', { body: [['PING']], token: null })).toMatchObject({
      status: 401,
    });
    expect(await call(gw, `/ping?_token=nope`, { token: null })).toMatchObject({ status: 401 });
    expect(await call(small, '/', { body: ['PING'] })).toMatchObject({ status: 200 });
    expect(await call(small, '/', { body: ['PING'], token: gw.token })).toMatchObject({
      status: 401,
    });
  });

  it('accepts the token as the _token query parameter', async () => {
    const a = await call(gw, `/?_token=${gw.token}`, { body: ['ECHO', 'hi'], token: null });
    expect(a).toMatchObject({ status: 200, body: { result: 'hi' } });
    const b = await call(gw, `/pipeline?_token=${gw.token}`, { body: [['PING']], token: null });
    expect(b).toMatchObject({ status: 200, body: [{ result: 'PONG' }] });
  });

  it('405 for other methods, with a JSON body', async () => {
    for (const method of ['DELETE', 'PATCH', 'OPTIONS']) {
      const a = await call(gw, '/', { method });
      expect(a.status, method).toBe(405);
      expect((a.body as { error: string }).error).toMatch(/not allowed/);
    }
    expect((await call(gw, '/', { method: 'DELETE' })).headers.get('allow')).toBe(
      'GET, HEAD, POST, PUT',
    );
    const getPipeline = await call(gw, '/pipeline', { method: 'GET' });
    expect(getPipeline).toMatchObject({
      status: 405,
      body: { error: expect.stringMatching(/POST/) },
    });
    expect(getPipeline.headers.get('allow')).toBe('POST, PUT');
    expect(await call(gw, '/multi-exec', { method: 'GET' })).toMatchObject({ status: 405 });
  });

  it('413 above the body limit (declared or chunked), with a JSON body', async () => {
    const big = JSON.stringify(['SET', `${P}big`, 'x'.repeat(2000)]);
    const a = await call(small, '/', { raw: big });
    expect(a.status).toBe(413);
    expect((a.body as { error: string }).error).toMatch(/exceeds the limit of 1024 bytes/);
    const chunks = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(500)));
        controller.close();
      },
    });
    const res = await fetch(`${small.url}/set/${P}big`, {
      method: 'POST',
      headers: { authorization: `Bearer ${small.token}` },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: expect.stringMatching(/exceeds/) });
    expect(await direct.exists(`${P}big`)).toBe(0);
    // The gateway keeps serving after refusing.
    expect(await call(small, '/', { body: ['SET', `${P}fits`, 'x'.repeat(900)] })).toMatchObject({
      status: 200,
    });
    const mb = await call(gw, '/', {
      raw: JSON.stringify(['SET', `${P}mb`, 'y'.repeat(1_100_000)]),
    });
    expect(mb.status).toBe(413);
  });
});

describe('path-style commands', () => {
  it('runs GET/POST/PUT path commands with the raw body and query options', async () => {
    expect(await call(gw, `/set/${P}path/value1`)).toMatchObject({
      status: 200,
      body: { result: 'OK' },
    });
    expect(await call(gw, `/get/${P}path`)).toMatchObject({ body: { result: 'value1' } });
    expect(
      await call(gw, `/set/${P}p2?EX=100`, { raw: 'body value', method: 'POST' }),
    ).toMatchObject({
      body: { result: 'OK' },
    });
    expect(await direct.get(`${P}p2`)).toBe('body value');
    const ttl = await direct.ttl(`${P}p2`);
    expect(ttl).toBeGreaterThan(90);
    expect(await call(gw, `/set/${P}p3?NX`, { raw: 'once', method: 'PUT' })).toMatchObject({
      body: { result: 'OK' },
    });
    expect(await call(gw, `/set/${P}p3?NX`, { raw: 'twice', method: 'PUT' })).toMatchObject({
      body: { result: null },
    });
    expect(await call(gw, `/GET/${encodeURIComponent(`${P}a/b c`)}`)).toMatchObject({
      body: { result: null },
    });
    await call(gw, `/set/${encodeURIComponent(`${P}a/b c`)}/${encodeURIComponent('x/y?z')}`);
    expect(await direct.get(`${P}a/b c`)).toBe('x/y?z');
    const head = await fetch(`${gw.url}/get/${P}path`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${gw.token}` },
    });
    expect(head.status).toBe(200);
    expect(await call(gw, `/incr/${P}path`)).toMatchObject({ status: 400 });
    expect(await call(gw, '/')).toMatchObject({
      status: 400,
      body: { error: 'ERR empty command' },
    });
  });

  it('keeps a binary raw body byte-exact', async () => {
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x0a, 0x0d]);
    await call(gw, `/set/${P}binpath`, { raw: bytes, method: 'POST' });
    expect(Buffer.compare((await direct.getBuffer(`${P}binpath`)) as Buffer, bytes)).toBe(0);
    const a = await call(gw, `/get/${P}binpath`, { b64: true });
    expect(a.body).toEqual({ result: b64(bytes) });
  });
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
      status: 200,
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
    expect(await call(edgeOnly, '/', { body: ['GET', `${P}ro`] })).toMatchObject({ status: 200 });
    expect(await call(edgeOnly, '/', { body: ['SCRIPT', 'LOAD', 'return 1'] })).toMatchObject({
      status: 200,
    });
    expect(await call(edgeOnly, '/', { body: ['EVALSHA', 'f'.repeat(40), 0] })).toMatchObject({
      body: { error: expect.stringMatching(/^NOSCRIPT/) },
    });
    for (const command of [
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
