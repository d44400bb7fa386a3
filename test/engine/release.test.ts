import { describe, expect, it } from 'vitest';
import { releaseScript } from '../../shared/scripts/index.js';
import { engineSuite } from './harness.js';

const suite = engineSuite('release');

describe('release script', () => {
  it('puts leased tasks back at the head in the given order, refunding attempts', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b', 'c']);
    await q.enqueue({ id: 't1' }, { id: 't2' }, { id: 't3' }, { id: 'h1', priority: 'high' });
    const { tasks } = await q.claim('h', ['a', 'b', 'c']);
    expect(tasks.map((t) => t.id)).toEqual(['h1', 't1', 't2']);
    expect(await q.tokens('h')).toEqual([]);
    await q.redis.del(q.keys.signal);

    const released = await q.run(
      releaseScript,
      'h',
      ...['t1', '1', 'b', 't2', '1', 'c', 'h1', '1', 'a'],
    );
    expect(released).toBe(3);
    expect(await q.lane('normal')).toEqual(['t1', 't2', 't3']);
    expect(await q.lane('high')).toEqual(['h1']);
    const record = await q.record('t1');
    expect(record).toMatchObject({ state: 'queued', attempts: '0', claims: '1', stalls: '0' });
    // The host that last leased it stays on the record, for tracing.
    expect(record.host).toBe('h');
    expect(record.startedAt).toBeUndefined();
    expect(await q.zset(q.keys.active)).toEqual({});
    // Triples are walked last to first, so the tokens come back in that order.
    expect(await q.tokens('h')).toEqual(['a', 'c', 'b']);
    expect(await q.redis.lrange(q.keys.signal, 0, -1)).toEqual(['1']);
    // The next claim gets a fresh lease id.
    const again = await q.claim('h', ['a']);
    expect(again.tasks.map((t) => t.id)).toEqual(['h1']);
    expect(again.tasks[0]?.fields).toMatchObject({ attempts: '1', claims: '2' });
  });

  it('skips tasks whose lease it lost, but still gives their tokens back', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b']);
    await q.enqueue({ id: 'mine' }, { id: 'lost' });
    await q.claim('h', ['a', 'b']);
    await q.redis.hset(q.keys.task('lost'), 'claims', '5');
    const lost = await q.record('lost');
    await q.redis.del(q.keys.signal);
    expect(await q.run(releaseScript, 'h', 'lost', '1', 'b')).toBe(0);
    expect(await q.record('lost')).toEqual(lost);
    expect(await q.lane('normal')).toEqual([]);
    expect(await q.tokens('h')).toEqual(['b']);
    expect(await q.redis.exists(q.keys.signal)).toBe(0);
    expect(await q.run(releaseScript, 'h', 'mine', '1', 'a')).toBe(1);
    expect(await q.tokens('h')).toEqual(['b', 'a']);
  });

  it('does not duplicate a token that is already on the list', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a', 'b']);
    expect(await q.run(releaseScript, 'h', 'none', '1', 'a')).toBe(0);
    expect(await q.tokens('h')).toEqual(['b', 'a']);
  });
});
