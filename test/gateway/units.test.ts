/**
 * The gateway's pure parts (config, encoding, auth, command policy) and the Hono app driven with
 * `app.request()` (no HTTP server). The read-only list is checked against the live Redis.
 */

import { Redis as IORedis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../worker-host/gateway/app.js';
import { createAuthenticator, presentedToken } from '../../worker-host/gateway/auth.js';
import {
  CommandPolicy,
  READ_ONLY_COMMANDS,
  READ_ONLY_EXTRAS,
  refusal,
} from '../../worker-host/gateway/commands.js';
import {
  FORKLIFT_EDGE_COMMANDS,
  GatewayConfigError,
  gatewayConfig,
  loadGatewayConfig,
} from '../../worker-host/gateway/config.js';
import { resultBody, resultJson } from '../../worker-host/gateway/encoding.js';
import { RedisPool } from '../../worker-host/gateway/redis-pool.js';
import { pathCommand, pathSegments } from '../../worker-host/gateway/request.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('config', () => {
  const env = { FORKLIFT_GATEWAY_TOKENS: 'a-token, second ,' };

  it('applies defaults and trims token lists', () => {
    const config = loadGatewayConfig(env);
    expect(config).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379',
      tokens: ['a-token', 'second'],
      readonlyTokens: [],
      allow: null,
      maxBodyBytes: 1_048_576,
      port: 8079,
      host: '127.0.0.1',
      logLevel: 'info',
    });
    expect(loadGatewayConfig({ ...env, FORKLIFT_LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
    expect(loadGatewayConfig(env, { port: '0', host: '::1' })).toMatchObject({
      port: 0,
      host: '::1',
    });
  });

  it('fails naming the setting (and never echoing a token)', () => {
    const fails = (e: Record<string, string>, flags = {}) => {
      try {
        loadGatewayConfig(e, flags);
      } catch (error) {
        expect(error).toBeInstanceOf(GatewayConfigError);
        return (error as Error).message;
      }
      throw new Error('expected a GatewayConfigError');
    };
    expect(fails({})).toMatch(/^FORKLIFT_GATEWAY_TOKENS is empty/);
    expect(fails({ FORKLIFT_GATEWAY_TOKENS: ' , ' })).toMatch(/^FORKLIFT_GATEWAY_TOKENS/);
    const overlap = fails({ ...env, FORKLIFT_GATEWAY_READONLY_TOKENS: 'second' });
    expect(overlap).toMatch(/^FORKLIFT_GATEWAY_READONLY_TOKENS/);
    expect(overlap).not.toContain('second');
    expect(fails({ ...env, REDIS_URL: 'http://x' })).toMatch(
      /^REDIS_URL: must be a redis:\/\/ .*got 'http:\/\/x\/?'/,
    );
    // A cluster URL is accepted; a bad one is refused with its password masked.
    const good = 'redis+cluster://:hunter2@h1:7000,h2:7000';
    expect(loadGatewayConfig({ ...env, REDIS_URL: good }).redisUrl).toBe(good);
    const cluster = fails({ ...env, REDIS_URL: 'redis+cluster://:hunter2@h1:7000,h2:7000/3' });
    expect(cluster).toMatch(/^REDIS_URL: .*database 0/);
    expect(cluster).not.toContain('hunter2');
    expect(fails({ ...env, FORKLIFT_GATEWAY_MAX_BODY_BYTES: '1k' })).toMatch(
      /^FORKLIFT_GATEWAY_MAX_BODY_BYTES: .*got '1k'/,
    );
    expect(fails({ ...env, FORKLIFT_GATEWAY_MAX_BODY_BYTES: '0' })).toMatch(
      /^FORKLIFT_GATEWAY_MAX_BODY_BYTES/,
    );
    expect(fails({ ...env, FORKLIFT_GATEWAY_ALLOW: 'GET,bad name!' })).toMatch(
      /^FORKLIFT_GATEWAY_ALLOW: 'bad name!'/,
    );
    expect(fails(env, { port: 'http' })).toMatch(
      /^--port: must be an integer from 0 to 65535, got 'http'/,
    );
    expect(fails(env, { port: '70000' })).toMatch(/^--port/);
    expect(fails(env, { host: 'a b' })).toMatch(/^--host/);
    expect(fails({ ...env, FORKLIFT_LOG_LEVEL: 'loud' })).toMatch(
      /^FORKLIFT_LOG_LEVEL: must be one of .*got 'loud'/,
    );
  });

  it('parses the allowlist and the forklift preset', () => {
    const preset = loadGatewayConfig({ ...env, FORKLIFT_GATEWAY_ALLOW: 'forklift' }).allow;
    expect([...(preset?.commands ?? [])]).toEqual([...FORKLIFT_EDGE_COMMANDS]);
    expect(preset?.forkliftScriptsOnly).toBe(true);
    const mixed = loadGatewayConfig({
      ...env,
      FORKLIFT_GATEWAY_ALLOW: 'forklift, publish, script flush, Client|Id',
    }).allow;
    expect(mixed?.commands.has('PUBLISH')).toBe(true);
    expect(mixed?.commands.has('SCRIPT|FLUSH')).toBe(true);
    expect(mixed?.commands.has('CLIENT|ID')).toBe(true);
    expect(mixed?.forkliftScriptsOnly).toBe(true);
    const plain = loadGatewayConfig({ ...env, FORKLIFT_GATEWAY_ALLOW: 'get, eval' }).allow;
    expect(plain?.forkliftScriptsOnly).toBe(false);
  });

  it('reads and validates the script time limit', () => {
    expect(loadGatewayConfig(env).scriptTimeoutMs).toBe(5_000);
    expect(
      loadGatewayConfig({ ...env, FORKLIFT_GATEWAY_SCRIPT_TIMEOUT_MS: ' 1500 ' }).scriptTimeoutMs,
    ).toBe(1_500);
    for (const bad of ['0', '1.5', '5s', '3600001']) {
      expect(() => loadGatewayConfig({ ...env, FORKLIFT_GATEWAY_SCRIPT_TIMEOUT_MS: bad })).toThrow(
        new RegExp(
          `^FORKLIFT_GATEWAY_SCRIPT_TIMEOUT_MS: must be a positive integer .*got '${bad}'`,
        ),
      );
    }
  });

  it('refuses allowlist entries naming no command the gateway knows', () => {
    for (const bad of ['gett', 'script nosuch', 'get|x']) {
      expect(() =>
        loadGatewayConfig({ ...env, FORKLIFT_GATEWAY_ALLOW: `forklift,${bad}` }),
      ).toThrow(
        new RegExp(
          `^FORKLIFT_GATEWAY_ALLOW: '${bad.replace('|', '\\|')}' is not a command the gateway knows`,
        ),
      );
    }
  });
});

describe('encoding', () => {
  it('applies the base64 rule at every depth', () => {
    const ok = Buffer.from('OK');
    expect(resultJson(ok, true)).toBe('"OK"');
    expect(resultJson([ok, [ok, null, '5']], true)).toBe('["T0s=",["T0s=",null,5]]');
    expect(resultJson(Buffer.from([0xff, 0x00]), true)).toBe('"/wA="');
    expect(resultJson(Buffer.from([0x61, 0xff]), false)).toBe('"a\uFFFD"');
    expect(resultJson('18446744073709551615', false)).toBe('18446744073709551615');
    expect(resultJson([new Error('ERR nested')], true)).toBe(
      `["${Buffer.from('ERR nested').toString('base64')}"]`,
    );
    expect(resultBody(Buffer.from('say "hi"\n'), false)).toBe('{"result":"say \\"hi\\"\\n"}');
  });

  it('parses path-style requests', () => {
    expect(pathSegments('/set/a%2Fb/c%20d/')).toEqual(['set', 'a/b', 'c d']);
    expect(
      pathCommand(['set', 'k'], Buffer.from('v'), new URLSearchParams('EX=10&_token=t&NX')),
    ).toEqual(['set', 'k', Buffer.from('v'), 'EX', '10', 'NX']);
    expect(() => pathSegments('/get/%E0%A4%A')).toThrow(/percent-encoding/);
  });
});

describe('auth', () => {
  it('reads bearer headers and _token, compares in constant time', () => {
    expect(presentedToken('Bearer abc', 'q')).toBe('abc');
    expect(presentedToken('bearer   abc ', undefined)).toBe('abc');
    expect(presentedToken('Basic abc', 'q')).toBe('q');
    expect(presentedToken(undefined, '')).toBeUndefined();
    const auth = createAuthenticator(['full-token'], ['read-token']);
    expect(auth('full-token')).toBe('full');
    expect(auth('read-token')).toBe('readonly');
    expect(auth('full-token ')).toBeNull();
    expect(auth(undefined)).toBeNull();
  });
});

describe('command policy', () => {
  let direct: IORedis;
  beforeAll(() => {
    direct = new IORedis(REDIS_URL);
  });
  afterAll(() => direct.disconnect());

  it('classifies refused, allowlisted and read-only commands', () => {
    expect(refusal(['xread', 'streams', 'block', '0'])).toBeNull();
    expect(refusal(['XREAD', 'BLOCK', '0', 'STREAMS', 's', '$'])).toMatch(/blocking/);
    expect(refusal(['client', 'id'])).toMatch(/shared connection/);
    const policy = new CommandPolicy({
      commands: new Set(['GET', 'SCRIPT|LOAD']),
      forkliftScriptsOnly: false,
    });
    expect(policy.check(['get', 'k'], 'full')).toBeNull();
    expect(policy.check(['script', 'load', 'x'], 'full')).toBeNull();
    expect(policy.check(['script', 'flush'], 'full')).toMatch(
      /'script\|flush' is not in this gateway's allowlist/,
    );
    const open = new CommandPolicy(null);
    expect(open.check(['object', 'encoding', 'k'], 'readonly')).toBeNull();
    expect(open.check(['object'], 'readonly')).toMatch(/^NOPERM/);
    expect(open.check([], 'full')).toBe('ERR empty command');
  });

  it('READ_ONLY_COMMANDS matches the readonly flags of the live Redis', async () => {
    const info = (await direct.call('COMMAND')) as unknown[][];
    const flagged = new Set<string>();
    const known = new Set<string>();
    for (const [name, , flags, , , , , , , subcommands] of info) {
      known.add(String(name).toUpperCase());
      if ((flags as string[]).includes('readonly')) flagged.add(String(name).toUpperCase());
      for (const sub of (subcommands as unknown[][] | undefined) ?? []) {
        known.add(String(sub[0]).toUpperCase());
        if ((sub[2] as string[]).includes('readonly')) flagged.add(String(sub[0]).toUpperCase());
      }
    }
    for (const command of flagged) expect(READ_ONLY_COMMANDS.has(command), command).toBe(true);
    for (const command of READ_ONLY_COMMANDS) {
      const sse = command === 'SUBSCRIBE' || command === 'PSUBSCRIBE';
      expect(flagged.has(command) || READ_ONLY_EXTRAS.includes(command) || sse, command).toBe(true);
      expect(known.has(command), `${command} exists`).toBe(true);
    }
  });
});

describe('the Hono app without a server (app.request)', () => {
  const logger = pino({ level: 'silent' });
  let pool: RedisPool;
  beforeAll(async () => {
    pool = new RedisPool({
      redisUrl: REDIS_URL,
      poolSize: 1,
      maxTransactionConnections: 2,
      logger,
    });
    await pool.ready(5_000);
  });
  afterAll(() => pool.close());

  it('answers the protocol', async () => {
    const app = createGatewayApp({ config: gatewayConfig({ tokens: ['t'] }), pool, logger });
    const headers = { authorization: 'Bearer t', 'upstash-encoding': 'base64' };
    const ping = await app.request('/', { method: 'POST', body: '["PING"]', headers });
    expect(ping.status).toBe(200);
    expect(await ping.json()).toEqual({ result: Buffer.from('PONG').toString('base64') });
    expect(ping.headers.get('upstash-sync-token')).toMatch(/^\d+$/);
    const echo = await app.request('/echo/hi?_token=t');
    expect(await echo.json()).toEqual({ result: 'hi' });
    const denied = await app.request('/', { method: 'POST', body: '["PING"]' });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ error: 'Unauthorized' });
    const tx = await app.request('/multi-exec', {
      method: 'POST',
      body: '[["PING"],["ECHO","x"]]',
      headers,
    });
    expect(await tx.json()).toEqual([{ result: 'UE9ORw==' }, { result: 'eA==' }]);
  });
});
