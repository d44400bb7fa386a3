import { describe, expect, it } from 'vitest';
import { QUEUE_NAME_PATTERN, queueKeys } from '../../shared/keys.js';
import { engineSuite } from './harness.js';

const suite = engineSuite('keys');

/** The hash tag Redis Cluster hashes: the text between the first '{' and the next '}'. */
function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : undefined;
}

describe('queueKeys', () => {
  const keys = queueKeys('emails', 'ns');

  it('builds every key under the prefix with the {queue} hash tag', () => {
    // Every per-id builder (task, idempotency, tokens, host, and any added later).
    const builders = Object.values(keys).filter(
      (value): value is (id: string) => string => typeof value === 'function',
    );
    expect(builders.length).toBeGreaterThanOrEqual(4);
    const all = [
      ...keys.scriptKeys,
      ...builders.flatMap((build) => [build('t-1'), build('some:key{with}braces')]),
    ];
    expect(keys.prefix).toBe('ns:{emails}:');
    for (const key of all) {
      expect(key.startsWith(keys.prefix)).toBe(true);
      expect(hashTag(key)).toBe('emails');
    }
  });

  it('passes the fixed keys to scripts in the documented order', () => {
    expect(keys.scriptKeys).toEqual([
      'ns:{emails}:lane:high',
      'ns:{emails}:lane:normal',
      'ns:{emails}:lane:low',
      'ns:{emails}:delayed',
      'ns:{emails}:active',
      'ns:{emails}:dead',
      'ns:{emails}:stats',
      'ns:{emails}:signal',
      'ns:{emails}:hosts',
    ]);
    expect(keys.task('a')).toBe('ns:{emails}:task:a');
    expect(keys.idempotency('k')).toBe('ns:{emails}:idem:k');
    expect(keys.tokens('h')).toBe('ns:{emails}:tokens:h');
    expect(keys.host('h')).toBe('ns:{emails}:host:h');
  });

  it("uses the 'forklift' namespace by default", () => {
    expect(queueKeys('default').laneHigh).toBe('forklift:{default}:lane:high');
  });

  it('accepts names of 1-64 allowed characters', () => {
    for (const name of ['a', 'A.b_c-9', 'x'.repeat(64)]) {
      expect(QUEUE_NAME_PATTERN.test(name)).toBe(true);
      expect(queueKeys(name).prefix).toBe(`forklift:{${name}}:`);
    }
  });

  it.each(['', 'x'.repeat(65), 'a{b', 'a}b', 'a:b', 'a b', 'é', 'a\n'])(
    'throws a TypeError for the queue name %j',
    (name) => {
      expect(() => queueKeys(name)).toThrow(TypeError);
      expect(() => queueKeys(name)).toThrow(`Invalid queue name ${JSON.stringify(name)}`);
    },
  );

  it.each(['', 'a{b}', 'a b', 'x'.repeat(65)])('throws a TypeError for the namespace %j', (ns) => {
    expect(() => queueKeys('q', ns)).toThrow(TypeError);
    expect(() => queueKeys('q', ns)).toThrow(/Invalid key namespace/);
  });
});

describe('the keys the scripts write', () => {
  it('are the ones queueKeys builds, with the token key a hash of token → task id and lease', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b']);
    await q.enqueue({ id: 't', idempotencyKey: 'k' });
    await q.claim('h', ['a']);
    expect(await q.redis.type(q.keys.task('t'))).toBe('hash');
    expect(await q.redis.get(q.keys.idempotency('k'))).toBe('t');
    expect(await q.redis.type(q.keys.host('h'))).toBe('hash');
    expect(await q.redis.type(q.keys.tokens('h'))).toBe('hash');
    expect(await q.redis.hgetall(q.keys.tokens('h'))).toEqual({ a: 't:1', b: '' });
    const fixed = new Set(q.keys.scriptKeys);
    expect((await q.allKeys()).filter((key) => !fixed.has(key))).toEqual(
      [
        q.keys.host('h'),
        q.keys.idempotency('k'),
        q.keys.recent,
        q.keys.task('t'),
        q.keys.tokens('h'),
      ].sort(),
    );
    // The keys the scripts build from the prefix (not among KEYS) are queueKeys's too.
    expect(await q.redis.zscore(q.keys.recent, 't')).not.toBeNull();
    await q.client.overview();
    expect(await q.redis.type(q.keys.history)).toBe('list');
    expect(q.keys.recent).toBe(`${q.keys.prefix}recent`);
    expect(q.keys.history).toBe(`${q.keys.prefix}history`);
  });
});
