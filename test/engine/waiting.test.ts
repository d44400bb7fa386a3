/** The waiting lists (list-waiting) and running a delayed task now (run-now). */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/errors.js';
import { LIST_MAX_COUNT, listWaitingScript, runNowScript } from '../../shared/scripts/index.js';
import { engineSuite } from './harness.js';

const suite = engineSuite('waiting');

describe('list-waiting script', () => {
  it('pages a lane in FIFO order and the delayed set by due time', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'n1' }, { id: 'n2' }, { id: 'n3' }, { id: 'h1', priority: 'high' });
    await q.enqueue({ id: 'late', delayMs: 90_000 }, { id: 'soon', delayMs: 30_000 });
    expect(await q.client.listWaiting('normal', 0, 2)).toEqual({
      total: 3,
      tasks: [
        expect.objectContaining({ id: 'n1', state: 'queued', priority: 'normal' }),
        expect.objectContaining({ id: 'n2' }),
      ],
    });
    expect((await q.client.listWaiting('normal', 2, 2)).tasks.map((t) => t.id)).toEqual(['n3']);
    expect((await q.client.listWaiting('high', 0, 10)).tasks.map((t) => t.id)).toEqual(['h1']);
    expect(await q.client.listWaiting('low', 0, 10)).toEqual({ total: 0, tasks: [] });
    const delayed = await q.client.listWaiting('delayed', 0, 10);
    expect(delayed.tasks.map((t) => [t.id, t.state])).toEqual([
      ['soon', 'delayed'],
      ['late', 'delayed'],
    ]);
    expect(delayed.tasks[0]?.runAt).not.toBeNull();
    expect(listWaitingScript.readOnly).toBe(true);
  });

  it('skips ids whose record is gone, and counts them in total', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'a' }, { id: 'b' });
    await q.redis.del(q.keys.task('a'));
    expect(await q.client.listWaiting('normal', 0, 10)).toEqual({
      total: 2,
      tasks: [expect.objectContaining({ id: 'b' })],
    });
  });

  it('refuses a bad list, offset or count naming it', async () => {
    const q = suite.queue();
    const paths = async (list: string, offset: number, count: number) => {
      const error = await q.client
        .listWaiting(list as 'high', offset, count)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).issues.map((i) => i.path);
    };
    expect(await paths('active', 0, 1)).toEqual(['list']);
    expect(await paths('high', -1, LIST_MAX_COUNT + 1)).toEqual(['offset', 'count']);
    await expect(q.run(listWaitingScript, 'active', 0, 1)).rejects.toThrow(/unknown list/);
  });
});

describe('run-now script', () => {
  it('moves a delayed task to the tail of its lane, idempotently', async () => {
    const q = suite.queue();
    await q.enqueue(
      { id: 'first', priority: 'high' },
      { id: 'd', priority: 'high', delayMs: 60_000 },
    );
    expect(await q.client.runNow('d')).toEqual({ outcome: 'queued' });
    expect(await q.lane('high')).toEqual(['first', 'd']);
    expect(await q.zset(q.keys.delayed)).toEqual({});
    const record = await q.record('d');
    expect(record.state).toBe('queued');
    expect(record.runAt).toBeUndefined();
    expect(Number(record.readyAt)).toBeGreaterThan(0);
    expect(await q.redis.llen(q.keys.signal)).toBe(1);
    // Re-sent: answered the same, nothing moves.
    const before = await q.snapshot();
    expect(await q.client.runNow('d')).toEqual({ outcome: 'queued' });
    expect(await q.snapshot()).toEqual(before);
    expect(runNowScript.readOnly).toBe(false);
  });

  it('runs a failed task waiting for its retry now, keeping its error and attempts', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    await q.enqueue({ id: 't', backoffMs: 60_000 });
    await q.claim('h', ['a']);
    await q.finish('h', [{ token: 'a', id: 't', lease: await q.lease('t'), kind: 'fail' }], {
      mode: 'free',
    });
    expect((await q.record('t')).state).toBe('failed');
    expect(await q.client.runNow('t')).toEqual({ outcome: 'queued' });
    expect(await q.record('t')).toMatchObject({ state: 'queued', attempts: '1', error: 'boom' });
    expect(await q.lane('normal')).toEqual(['t']);
  });

  it('answers not_found, and conflict with the state of a task that is not waiting', async () => {
    const q = suite.queue();
    await q.registerHost('h', ['a']);
    await q.enqueue({ id: 'runs' }, { id: 'c', delayMs: 60_000 });
    await q.claim('h', ['a']);
    await q.client.cancel('c');
    expect(await q.client.runNow('nope')).toEqual({ outcome: 'not_found' });
    expect(await q.client.runNow('runs')).toEqual({ outcome: 'conflict', state: 'active' });
    expect(await q.client.runNow('c')).toEqual({ outcome: 'conflict', state: 'canceled' });
  });
});
