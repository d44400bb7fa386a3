/**
 * Which Lua a token may run: under `FORKLIFT_GATEWAY_ALLOW=forklift` only Forklift's own scripts
 * (by SHA1 or exact body), and for read-only tokens only Forklift's read-only scripts. Raw HTTP
 * and @upstash/redis, against a throwaway redis-server (a policy hole here flushes or freezes it).
 */
import { Redis } from '@upstash/redis';
import { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { queueKeys } from '../../shared/keys.js';
import { scriptSha } from '../../shared/script-runner.js';
import {
  enqueueScript,
  getTaskScript,
  type LuaScript,
  statsScript,
} from '../../shared/scripts/index.js';
import {
  FORKLIFT_CLIENT_SCRIPTS,
  FORKLIFT_SCRIPT_SHAS,
  sha1Hex,
} from '../../worker-host/gateway/forklift-scripts.js';
import {
  startTestGateway,
  startThrowawayRedis,
  type TestGateway,
  type ThrowawayRedis,
} from '../support/gateway.js';
import { call } from './http-call.js';

const keys = queueKeys('default', 't-lua-policy');
/** The KEYS and ARGV prefix every engine script takes. */
const scriptArgs = (...argv: string[]) => [
  keys.scriptKeys.length,
  ...keys.scriptKeys,
  keys.prefix,
  ...argv,
];
const FLUSH = "return redis.call('FLUSHALL')";
const FOREVER = 'while true do end';
const WAIT = 5_000;

let spare: ThrowawayRedis;
let preset: TestGateway;
let open: TestGateway;
let direct: IORedis;

beforeAll(async () => {
  spare = await startThrowawayRedis();
  direct = new IORedis(spare.url);
  [preset, open] = await Promise.all([
    startTestGateway({ redisUrl: spare.url, allow: 'forklift' }),
    startTestGateway({ redisUrl: spare.url }),
  ]);
});

afterAll(async () => {
  direct?.disconnect();
  await Promise.all([preset?.close(), open?.close()]);
  await spare?.kill();
});

beforeEach(async () => {
  await direct.set('keep', 'me');
});

const error = (a: { body: unknown }) => (a.body as { error?: string }).error ?? '';

it('computes the allowed SHAs from the script sources as the edge does', async () => {
  expect(FORKLIFT_SCRIPT_SHAS).toEqual(
    await Promise.all(FORKLIFT_CLIENT_SCRIPTS.map((s) => scriptSha(s))),
  );
});

describe('FORKLIFT_GATEWAY_ALLOW=forklift', () => {
  it("refuses Lua that is not Forklift's: EVAL, EVAL_RO, EVALSHA, SCRIPT LOAD (raw HTTP)", async () => {
    // A script someone else cached: its SHA must not run either.
    const flushSha = (await direct.script('LOAD', FLUSH)) as string;
    for (const command of [
      ['EVAL', FLUSH, '0'],
      ['EVAL_RO', "return redis.call('KEYS', '*')", 0],
      ['EVALSHA', flushSha, 0],
      ['EVALSHA', flushSha.toUpperCase(), 0],
      ['EVALSHA_RO', flushSha, 0],
      ['SCRIPT', 'LOAD', FLUSH],
      // one byte more than a Forklift script is another script
      ['EVAL', `${statsScript.source} `, ...scriptArgs()],
    ]) {
      const a = await call(preset, '/', { body: command, timeoutMs: WAIT });
      expect(a.status, String(command[0])).toBe(400);
      expect(error(a)).toMatch(
        /^NOPERM FORKLIFT_GATEWAY_ALLOW=forklift lets '(eval|eval_ro|evalsha|evalsha_ro|script\|load)' run only Forklift's own scripts \(enqueue, get-task, cancel, stats, list-dead, retry-dead, snapshot, search-tasks, find-by-key, list-waiting, dead-page, delete-dead, dead-matching, run-now\); /,
      );
    }
    expect(error(await call(preset, '/', { body: ['EVALSHA', flushSha, 0] }))).toMatch(
      new RegExp(`the SHA1 '${flushSha}' names none of them$`),
    );
    const path = await call(preset, `/eval/${encodeURIComponent(FLUSH)}/0`, { timeoutMs: WAIT });
    expect(error(path)).toMatch(/^NOPERM FORKLIFT_GATEWAY_ALLOW=forklift/);
    const pipe = await call(preset, '/pipeline', {
      body: [['EVAL', FLUSH, 0], ['PING']],
      timeoutMs: WAIT,
    });
    expect(pipe.body).toEqual([
      { error: expect.stringMatching(/^NOPERM FORKLIFT_GATEWAY_ALLOW=forklift/) },
      { result: 'PONG' },
    ]);
    const tx = await call(preset, '/multi-exec', { body: [['EVAL', FLUSH, 0]], timeoutMs: WAIT });
    expect(tx).toMatchObject({ status: 400 });
    expect(error(tx)).toMatch(/^EXECABORT .*NOPERM FORKLIFT_GATEWAY_ALLOW=forklift/);
    expect(await direct.get('keep')).toBe('me');
  });

  it("runs Forklift's own scripts by SHA1 (any case) and by exact body (raw HTTP)", async () => {
    await direct.script('FLUSH');
    const sha = await scriptSha(statsScript);
    // Allowed, but not cached yet: Redis answers NOSCRIPT, and the client falls back to EVAL.
    expect(
      error(await call(preset, '/', { body: ['EVALSHA', sha, ...scriptArgs()], timeoutMs: WAIT })),
    ).toMatch(/^NOSCRIPT/);
    const viaEval = await call(preset, '/', {
      body: ['EVAL', statsScript.source, ...scriptArgs()],
      timeoutMs: WAIT,
    });
    expect(viaEval).toMatchObject({ status: 200, body: { result: expect.any(Array) } });
    for (const command of [
      ['EVALSHA', sha, ...scriptArgs()],
      ['EVALSHA', sha.toUpperCase(), ...scriptArgs()],
      ['EVALSHA_RO', sha, ...scriptArgs()],
      ['EVAL_RO', statsScript.source, ...scriptArgs()],
    ]) {
      const a = await call(preset, '/', { body: command, timeoutMs: WAIT });
      expect(a, String(command[0])).toMatchObject({ status: 200, body: viaEval.body });
    }
    const loaded = await call(preset, '/', {
      body: ['SCRIPT', 'LOAD', enqueueScript.source],
      timeoutMs: WAIT,
    });
    expect(loaded).toMatchObject({ status: 200, body: { result: await scriptSha(enqueueScript) } });
    expect(
      await call(preset, '/', { body: ['SCRIPT', 'EXISTS', sha, sha1Hex(FLUSH)], timeoutMs: WAIT }),
    ).toMatchObject({ status: 200, body: { result: [1, 0] } });
  });

  it('gives @upstash/redis the same answers', async () => {
    await direct.script('FLUSH');
    const redis = new Redis({ url: preset.url, token: preset.token, enableTelemetry: false });
    await expect(redis.eval(FLUSH, [], [])).rejects.toThrow(
      /NOPERM FORKLIFT_GATEWAY_ALLOW=forklift lets 'eval' run only Forklift's own scripts/,
    );
    await expect(redis.scriptLoad(FLUSH)).rejects.toThrow(/NOPERM .*'script\|load'/);
    await expect(redis.evalsha(sha1Hex(FLUSH), [], [])).rejects.toThrow(/NOPERM .*'evalsha'/);
    await expect(redis.get('keep')).rejects.toThrow(/NOPERM command 'get' is not in/);
    // createScript: EVALSHA, NOSCRIPT, then EVAL with the exact body; then EVALSHA again.
    const stats = redis.createScript<unknown[]>(statsScript.source);
    const argv = [keys.prefix];
    const first = await stats.exec([...keys.scriptKeys], argv);
    expect(first).toHaveLength(11);
    expect(await stats.exec([...keys.scriptKeys], argv)).toEqual(first);
    expect(await direct.get('keep')).toBe('me');
  });
});

describe('read-only tokens', () => {
  const readOnlyScripts = FORKLIFT_CLIENT_SCRIPTS.filter((s) => s.readOnly);
  const writing: LuaScript = enqueueScript;

  it('are refused any Lua but the read-only Forklift scripts (raw HTTP)', async () => {
    expect(readOnlyScripts.map((s) => s.name)).toContain('stats');
    const names = readOnlyScripts.map((s) => s.name).join(', ');
    for (const target of [open, preset]) {
      const ro = { token: target.readonlyToken, timeoutMs: WAIT };
      for (const command of [
        ['EVAL_RO', FOREVER, '0'],
        ['EVALSHA_RO', sha1Hex(FOREVER), '0'],
        ['EVAL_RO', writing.source, ...scriptArgs()],
        ['EVALSHA_RO', await scriptSha(writing), ...scriptArgs()],
      ]) {
        const a = await call(target, '/', { body: command, ...ro });
        expect(a.status, String(command[0])).toBe(400);
        expect(error(a)).toBe(
          `NOPERM read-only tokens may run only Forklift's read-only scripts (${names}); '${String(command[0]).toLowerCase()}' was given another script`,
        );
      }
      for (const command of [
        ['EVAL', statsScript.source, ...scriptArgs()],
        ['EVALSHA', await scriptSha(statsScript), ...scriptArgs()],
        ['SCRIPT', 'LOAD', statsScript.source],
      ]) {
        expect(error(await call(target, '/', { body: command, ...ro }))).toMatch(
          /^NOPERM (this user has no permissions|command .* is not in this gateway's allowlist)/,
        );
      }
      const pipe = await call(target, '/pipeline', {
        body: [
          ['EVAL_RO', FOREVER, 0],
          ['EVAL_RO', getTaskScript.source, ...scriptArgs('no-such-task')],
        ],
        ...ro,
      });
      const [refused, ran] = pipe.body as Array<Record<string, unknown>>;
      expect(refused).toEqual({ error: expect.stringMatching(/^NOPERM read-only tokens/) });
      expect(Object.keys(ran ?? {})).toEqual(['result']);
      const stats = await call(target, '/', {
        body: ['EVALSHA_RO', await scriptSha(statsScript), ...scriptArgs()],
        ...ro,
      });
      expect(stats).toMatchObject({ status: 200, body: { result: expect.any(Array) } });
    }
    expect(await direct.ping()).toBe('PONG');
  });

  it('are refused arbitrary Lua through @upstash/redis too', async () => {
    const redis = new Redis({ url: open.url, token: open.readonlyToken, enableTelemetry: false });
    await expect(redis.evalRo(FOREVER, [], [])).rejects.toThrow(/NOPERM read-only tokens/);
    await expect(redis.evalshaRo(sha1Hex(FOREVER), [], [])).rejects.toThrow(/NOPERM/);
    const stats = redis.createScript<unknown[], true>(statsScript.source, { readonly: true });
    expect(await stats.exec([...keys.scriptKeys], [keys.prefix])).toHaveLength(11);
    expect(await direct.ping()).toBe('PONG');
  });
});
