import { describe, expect, it } from 'vitest';
import { isNoScriptError, runScript, scriptSha } from '../../shared/script-runner.js';
import { defineScript } from '../../shared/scripts/define-script.js';
import type { LuaScript } from '../../shared/scripts/index.js';
import * as scripts from '../../shared/scripts/index.js';
import { ioredisTransport } from '../../worker-host/redis/ioredis-transport.js';
import { engineSuite } from './harness.js';

const suite = engineSuite('script-runner');

const allScripts = Object.values(scripts).filter(
  (value): value is LuaScript => typeof value === 'object' && value !== null && 'source' in value,
);

describe('engine scripts', () => {
  it('are all exported, with distinct names', () => {
    const names = allScripts.map((s) => s.name).sort();
    expect(names).toEqual([
      'cancel',
      'claim',
      'dead-matching',
      'dead-page',
      'declare-shards',
      'delete-dead',
      'enqueue',
      'find-by-key',
      'finish',
      'get-task',
      'heartbeat',
      'list-dead',
      'list-waiting',
      'promote',
      'reap',
      'register-host',
      'renew',
      'retry-dead',
      'run-now',
      'search-tasks',
      'snapshot',
      'stats',
      'unregister-host',
    ]);
  });

  it.each(allScripts.map((s) => [s.name, s] as const))(
    '%s: scriptSha matches what SCRIPT LOAD returns',
    async (_name, script) => {
      const sha = await scriptSha(script);
      expect(sha).toMatch(/^[0-9a-f]{40}$/);
      expect(await suite.redis.script('LOAD', script.source)).toBe(sha);
      expect(await scriptSha(script)).toBe(sha);
    },
  );

  it.each(allScripts.map((s) => [s.name, s] as const))(
    '%s: starts with its header comment listing KEYS, ARGV and returns',
    (_name, script) => {
      const lines = script.source.split('\n');
      expect(lines[0]).toMatch(new RegExp(`^-- ${script.name}: `));
      expect(script.source).toContain('-- KEYS[1..9]: lane:high, lane:normal, lane:low');
      expect(script.source).toContain('-- ARGV[1]: key prefix');
      expect(script.source).toMatch(/-- Returns: /);
      expect(Object.isFrozen(script)).toBe(true);
    },
  );
});

describe('runScript', () => {
  it('falls back to EVAL when Redis does not know the script, then EVALSHA works', async () => {
    const q = suite.queue();
    const script = defineScript({
      name: 'probe',
      header: `probe: returns ARGV[2] and KEYS[1]\n-- ${crypto.randomUUID()}`,
      body: 'return { ARGV[2], KEYS[1] }',
    });
    const sha = await scriptSha(script);
    expect(await suite.redis.script('EXISTS', sha)).toEqual([0]);
    const calls: string[] = [];
    const inner = ioredisTransport(q.redis);
    const transport = {
      evalsha: (s: string, k: readonly string[], a: readonly string[]) => {
        calls.push('evalsha');
        return inner.evalsha(s, k, a);
      },
      eval: (s: string, k: readonly string[], a: readonly string[]) => {
        calls.push('eval');
        return inner.eval(s, k, a);
      },
    };
    const keys = q.keys.scriptKeys;
    expect(await runScript(transport, script, keys, [q.keys.prefix, 'hello'])).toEqual([
      'hello',
      q.keys.laneHigh,
    ]);
    expect(calls).toEqual(['evalsha', 'eval']);
    expect(await suite.redis.script('EXISTS', sha)).toEqual([1]);
    expect(await runScript(transport, script, keys, [q.keys.prefix, 'again'])).toEqual([
      'again',
      q.keys.laneHigh,
    ]);
    expect(calls).toEqual(['evalsha', 'eval', 'evalsha']);
  });

  it('passes script errors through without retrying', async () => {
    const q = suite.queue();
    const calls: string[] = [];
    const inner = ioredisTransport(q.redis);
    const transport = {
      evalsha: (s: string, k: readonly string[], a: readonly string[]) => {
        calls.push('evalsha');
        return inner.evalsha(s, k, a);
      },
      eval: (s: string, k: readonly string[], a: readonly string[]) => {
        calls.push('eval');
        return inner.eval(s, k, a);
      },
    };
    await suite.redis.script('LOAD', scripts.enqueueScript.source);
    await expect(
      runScript(transport, scripts.enqueueScript, q.keys.scriptKeys, [q.keys.prefix, 'x', '13']),
    ).rejects.toThrow(/bad enqueue arguments/);
    expect(calls).toEqual(['evalsha']);
  });

  it('recognises NOSCRIPT replies only', () => {
    expect(isNoScriptError(new Error('NOSCRIPT No matching script. Please use EVAL.'))).toBe(true);
    expect(isNoScriptError(new Error('ERR forklift: bad enqueue arguments'))).toBe(false);
    expect(isNoScriptError('NOSCRIPT')).toBe(false);
  });
});
