import { describe, expect, it } from 'vitest';
import { CorruptRecordError } from '../../shared/errors.js';
import { getTaskScript } from '../../shared/scripts/index.js';
import { pairsToObject } from '../../shared/task-record.js';
import { engineSuite } from './harness.js';

const suite = engineSuite('get-task');

describe('get-task script', () => {
  it('returns the whole record as a flat field list', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't', payload: '{"x":7}', delayMs: 5000 });
    const reply = await q.runArray(getTaskScript, 't');
    expect(pairsToObject(reply)).toEqual(await q.record('t'));
    expect(getTaskScript.readOnly).toBe(true);
  });

  it('returns an empty list for an unknown task', async () => {
    const q = suite.queue();
    expect(await q.runArray(getTaskScript, 'missing')).toEqual([]);
    expect(await q.client.getRecord('missing')).toBeNull();
    expect(await q.client.getTask('missing')).toBeNull();
  });

  it('marks a key that is not a hash as corrupt, with its type', async () => {
    const q = suite.queue();
    await q.redis.rpush(q.keys.task('bad'), 'x');
    expect(await q.runArray(getTaskScript, 'bad')).toEqual(['__corrupt', 'list']);
    await expect(q.client.getRecord('bad')).rejects.toThrow(
      new CorruptRecordError('bad', 'the key holds a list, not a hash'),
    );
  });

  it('decodes a record and shows its view through QueueClient', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't', payload: '{"x":7}', priority: 'low', delayMs: 5000 });
    const raw = await q.record('t');
    expect(await q.client.getRecord('t')).toMatchObject({
      id: 't',
      payload: { x: 7 },
      priority: 'low',
      state: 'delayed',
      attempts: 0,
      claims: 0,
      stalls: 0,
      runAt: Number(raw.runAt),
    });
    expect(await q.client.getTask('t')).toMatchObject({
      state: 'delayed',
      result: null,
      error: null,
      createdAt: new Date(Number(raw.createdAt)).toISOString(),
      runAt: new Date(Number(raw.runAt)).toISOString(),
      startedAt: null,
    });
  });

  it('reports a record with a bad field as corrupt, naming the field', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 't' });
    await q.redis.hset(q.keys.task('t'), 'attempts', 'abc');
    await expect(q.client.getRecord('t')).rejects.toThrow(/attempts is not a decimal integer/);
  });
});
