/**
 * The script time limit (`FORKLIFT_GATEWAY_SCRIPT_TIMEOUT_MS`): a full token's endless script,
 * with no allowlist, is killed by the gateway (SCRIPT KILL / FUNCTION KILL on its control
 * connection) and Redis answers everyone again; a script that already wrote cannot be killed and
 * fails at once with a clear error. Against throwaway redis-servers: a failure here freezes them.
 * Their `busy-reply-threshold` is lowered so that Redis reads the kill as soon as the limit passes.
 */
import { Redis } from '@upstash/redis';
import { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startTestGateway,
  startThrowawayRedis,
  type TestGateway,
  type ThrowawayRedis,
} from '../support/gateway.js';
import { call } from './http-call.js';

const LIMIT_MS = 400;
const FOREVER = 'while true do end';
/** Bounded wait for one request: well past the limit, far from forever. */
const WAIT = 8_000;
const KILLED = `ERR script killed by the REST gateway: it ran longer than ${LIMIT_MS} ms (FORKLIFT_GATEWAY_SCRIPT_TIMEOUT_MS)`;

async function throwaway(): Promise<{ spare: ThrowawayRedis; direct: IORedis; gw: TestGateway }> {
  const spare = await startThrowawayRedis();
  const direct = new IORedis(spare.url, { maxRetriesPerRequest: 0 });
  await direct.config('SET', 'busy-reply-threshold', '50');
  const gw = await startTestGateway({
    redisUrl: spare.url,
    config: { scriptTimeoutMs: LIMIT_MS, poolSize: 2 },
  });
  return { spare, direct, gw };
}

describe('a script that wrote nothing', () => {
  let env: Awaited<ReturnType<typeof throwaway>>;
  beforeAll(async () => {
    env = await throwaway();
  });
  afterAll(async () => {
    env?.direct.disconnect();
    await env?.gw.close();
    await env?.spare.kill();
  });

  it('is killed past the limit; Redis answers other clients afterwards (raw HTTP)', async () => {
    const started = Date.now();
    const a = await call(env.gw, '/', { body: ['EVAL', FOREVER, '0'], timeoutMs: WAIT });
    expect(a).toMatchObject({ status: 400, body: { error: KILLED } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(LIMIT_MS);
    expect(await env.direct.ping()).toBe('PONG');
    expect(await call(env.gw, '/', { body: ['PING'], timeoutMs: WAIT })).toMatchObject({
      status: 200,
      body: { result: 'PONG' },
    });
  });

  it('is killed inside a pipeline and a transaction; the other items run', async () => {
    const pipe = await call(env.gw, '/pipeline', {
      body: [
        ['SET', 'a', '1'],
        ['EVAL', FOREVER, 0],
        ['GET', 'a'],
      ],
      timeoutMs: WAIT,
    });
    expect(pipe).toMatchObject({
      status: 200,
      body: [{ result: 'OK' }, { error: KILLED }, { result: '1' }],
    });
    const tx = await call(env.gw, '/multi-exec', {
      body: [
        ['EVAL_RO', FOREVER, 0],
        ['INCR', 'n'],
      ],
      timeoutMs: WAIT,
    });
    expect(tx).toMatchObject({ status: 200, body: [{ error: KILLED }, { result: 1 }] });
    expect(await env.direct.get('n')).toBe('1');
  });

  it('is killed with FUNCTION KILL when it is a function (FCALL)', async () => {
    const code = `#!lua name=spin
redis.register_function{function_name='spin', callback=function() while true do end end, flags={'no-writes'}}`;
    expect(
      await call(env.gw, '/', { body: ['FUNCTION', 'LOAD', 'REPLACE', code], timeoutMs: WAIT }),
    ).toMatchObject({ status: 200, body: { result: 'spin' } });
    for (const name of ['FCALL', 'FCALL_RO']) {
      const a = await call(env.gw, '/', { body: [name, 'spin', 0], timeoutMs: WAIT });
      expect(a, name).toMatchObject({ status: 400, body: { error: KILLED } });
    }
    expect(await env.direct.ping()).toBe('PONG');
  });

  it('is killed for @upstash/redis too, which then carries on', async () => {
    const redis = new Redis({ url: env.gw.url, token: env.gw.token, enableTelemetry: false });
    await expect(redis.eval(FOREVER, [], [])).rejects.toThrow(/script killed by the REST gateway/);
    expect(await redis.ping()).toBe('PONG');
    expect(await redis.eval('return 3', [], [])).toBe(3);
  });
});

describe('a script that already wrote', () => {
  let env: Awaited<ReturnType<typeof throwaway>>;
  beforeAll(async () => {
    env = await throwaway();
  });
  afterAll(async () => {
    env?.direct.disconnect();
    await env?.gw.close();
    // Still running its endless script: only killing the server ends it.
    await env?.spare.kill();
  });

  it('cannot be killed (UNKILLABLE): the request fails at once with a clear 503', async () => {
    const a = await call(env.gw, '/', {
      body: ['EVAL', `redis.call('SET', 'w', '1') ${FOREVER}`, '0'],
      timeoutMs: WAIT,
    });
    expect(a).toMatchObject({
      status: 503,
      body: {
        error: `ERR script ran longer than ${LIMIT_MS} ms (FORKLIFT_GATEWAY_SCRIPT_TIMEOUT_MS) and cannot be killed: it has already written (Redis answered UNKILLABLE); it keeps running and Redis answers BUSY until it ends`,
      },
    });
  });
});
