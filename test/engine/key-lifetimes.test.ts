/**
 * The invariant that keeps Redis from filling up: every key either belongs to a live task (or
 * is one of the queue's fixed keys), or carries a TTL. Run a whole lifecycle, then look at every
 * key of the queue.
 */
import { describe, expect, it } from 'vitest';
import { cancelScript, reapScript } from '../../shared/scripts/index.js';
import { engineSuite } from './harness.js';

const suite = engineSuite('key-lifetimes');

const FIXED = [
  'lane:high',
  'lane:normal',
  'lane:low',
  'delayed',
  'active',
  'dead',
  'stats',
  'signal',
  'hosts',
  // The search index: bounded, its ids dropped as their records go (see LUA_RECENT).
  'recent',
];
const EXPIRING = ['task:', 'idem:', 'tokens:', 'host:', 'corrupt:', 'wake:', 'history'];

describe('key lifetimes', () => {
  it('leaves every per-task and per-host key with a TTL once the tasks are finished', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b', 'c', 'd', 'e', 'f']);
    await q.enqueue(
      { id: 'ok', priority: 'high', idempotencyKey: 'k-ok' },
      { id: 'dies', priority: 'high', maxAttempts: 1, idempotencyKey: 'k-dies' },
      { id: 'fatal', priority: 'high', idempotencyKey: 'k-fatal' },
      { id: 'retry', priority: 'high', maxAttempts: 3 },
      { id: 'stalls', priority: 'high', maxStalls: 0 },
      { id: 'queued-cancel', idempotencyKey: 'k-qc' },
      { id: 'delayed-cancel', delayMs: 60_000 },
    );
    // A duplicate writes nothing, but its key must not outlive its TTL either.
    await q.enqueue({ id: 'dup', idempotencyKey: 'k-ok' });
    await q.redis.set(q.keys.task('junk'), 'not a hash');
    await q.redis.rpush(q.keys.laneLow, 'junk');

    const { tasks } = await q.claim('h', ['a', 'b', 'c', 'd', 'e']);
    expect(tasks.map((t) => t.id)).toEqual(['ok', 'dies', 'fatal', 'retry', 'stalls']);
    const { outcomes } = await q.finish(
      'h',
      [
        { token: 'a', id: 'ok', lease: await q.lease('ok'), kind: 'ok', text: '1' },
        { token: 'b', id: 'dies', lease: await q.lease('dies'), kind: 'fail' },
        { token: 'c', id: 'fatal', lease: await q.lease('fatal'), kind: 'fatal' },
        { token: 'd', id: 'retry', lease: await q.lease('retry'), kind: 'fail' },
      ],
      { mode: 'free' },
    );
    expect(outcomes).toEqual(['succeeded', 'dead', 'dead', 'failed']);
    expect((await q.record('retry')).state).toBe('failed');
    expect(await q.runArray(cancelScript, 'retry')).toEqual([1, 'canceled']);
    expect(await q.runArray(cancelScript, 'queued-cancel')).toEqual([1, 'canceled']);
    expect(await q.runArray(cancelScript, 'delayed-cancel')).toEqual([1, 'canceled']);
    // 'stalls' is never finished by its host: its lease runs out, past the orphan grace, and
    // it may not stall even once.
    await q.redis.zadd(q.keys.active, 1, 'stalls');
    expect(await q.runArray(reapScript, 100, 0)).toEqual([0, 1]);
    // The corrupt key is set aside when a claim meets it.
    expect((await q.claim('h', ['f'])).tasks).toEqual([]);

    const states: Record<string, string> = {};
    for (const id of [
      'ok',
      'dies',
      'fatal',
      'retry',
      'stalls',
      'queued-cancel',
      'delayed-cancel',
      'junk',
    ]) {
      states[id] = (await q.record(id)).state ?? '';
    }
    expect(states).toEqual({
      ok: 'succeeded',
      dies: 'dead',
      fatal: 'dead',
      retry: 'canceled',
      stalls: 'dead',
      'queued-cancel': 'canceled',
      'delayed-cancel': 'canceled',
      junk: 'dead',
    });

    const withoutTtl: string[] = [];
    const unknown: string[] = [];
    for (const key of await q.allKeys()) {
      const rest = key.slice(q.keys.prefix.length);
      if (FIXED.includes(rest)) continue;
      if (!EXPIRING.some((prefix) => rest.startsWith(prefix))) unknown.push(rest);
      else if ((await q.redis.pttl(key)) <= 0) withoutTtl.push(rest);
    }
    expect(unknown).toEqual([]);
    expect(withoutTtl).toEqual([]);
    expect((await q.allKeys()).map((key) => key.slice(q.keys.prefix.length))).toEqual(
      expect.arrayContaining([
        'corrupt:junk',
        'host:h',
        'idem:k-ok',
        'idem:k-dies',
        'idem:k-fatal',
        'idem:k-qc',
        'task:ok',
        'tokens:h',
      ]),
    );
    // Nothing is left running or waiting.
    for (const key of [q.keys.laneHigh, q.keys.laneNormal, q.keys.laneLow]) {
      expect(await q.redis.llen(key)).toBe(0);
    }
    expect(await q.redis.zcard(q.keys.active)).toBe(0);
    expect(await q.redis.zcard(q.keys.delayed)).toBe(0);
  });

  it('keeps live tasks (queued, delayed, active) without a TTL', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    await q.enqueue({ id: 'active' }, { id: 'queued' }, { id: 'delayed', delayMs: 60_000 });
    await q.claim('h', ['a']);
    expect((await q.record('active')).state).toBe('active');
    for (const id of ['active', 'queued', 'delayed']) {
      expect(await q.redis.pttl(q.keys.task(id))).toBe(-1);
    }
  });
});
