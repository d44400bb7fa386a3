/**
 * Raw HTTP against the gateway, part 1: what the official client does not check about requests
 * (status codes, JSON error bodies, `_token`, body limit, path-style commands). Part 2 is
 * http-commands.test.ts.
 */
import type { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deleteKeysByPrefix, testRedis } from '../support/redis.js';
import { b64, call } from './http-call.js';

const P = 't:gw-http:';
let gw: TestGateway;
let small: TestGateway;
let direct: IORedis;

beforeAll(async () => {
  [gw, small] = await Promise.all([
    startTestGateway(),
    startTestGateway({ config: { maxBodyBytes: 1024 } }),
  ]);
  direct = testRedis();
});

afterAll(async () => {
  await deleteKeysByPrefix(direct, P);
  direct.disconnect();
  await Promise.all([gw?.close(), small?.close()]);
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
