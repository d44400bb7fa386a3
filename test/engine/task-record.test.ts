import { describe, expect, it } from 'vitest';
import { CorruptRecordError } from '../../shared/errors.js';
import { decodeTaskRecord, pairsToObject, toTaskView } from '../../shared/task-record.js';

const fields: Record<string, string> = {
  id: 't1',
  type: 'square',
  payload: '{"x":3}',
  priority: 'high',
  state: 'succeeded',
  attempts: '2',
  claims: '3',
  stalls: '1',
  maxAttempts: '5',
  timeoutMs: '1000',
  backoffMs: '10',
  backoffMaxMs: '100',
  resultTtlMs: '2000',
  deadTtlMs: '3000',
  result: '9',
  createdAt: '1700000000000',
  startedAt: '1700000001000',
  finishedAt: '1700000002500',
  idempotencyKey: 'k',
};
const flat = (record: Record<string, string>): string[] => Object.entries(record).flat();

function decodeError(record: unknown): CorruptRecordError {
  try {
    decodeTaskRecord('t1', record);
  } catch (error) {
    if (error instanceof CorruptRecordError) return error;
    throw error;
  }
  throw new Error('decoded without an error');
}

describe('pairsToObject', () => {
  it('pairs a flat HGETALL reply and ignores a dangling field', () => {
    expect(pairsToObject(['a', '1', 'b', 2, 'c'])).toEqual({ a: '1', b: '2' });
    expect(pairsToObject([])).toEqual({});
  });
});

describe('decodeTaskRecord', () => {
  it('decodes a flat reply into typed fields', () => {
    const record = decodeTaskRecord('t1', flat(fields));
    expect(record).toMatchObject({
      id: 't1',
      type: 'square',
      payload: { x: 3 },
      priority: 'high',
      state: 'succeeded',
      attempts: 2,
      claims: 3,
      stalls: 1,
      maxAttempts: 5,
      timeoutMs: 1000,
      result: 9,
      createdAt: 1_700_000_000_000,
      startedAt: 1_700_000_001_000,
      finishedAt: 1_700_000_002_500,
      idempotencyKey: 'k',
    });
    expect(record.error).toBeUndefined();
    expect(record.runAt).toBeUndefined();
  });

  it('decodes an object too, and defaults claims and stalls to 0', () => {
    const { claims: _c, stalls: _s, ...rest } = fields;
    const record = decodeTaskRecord('t1', rest);
    expect(record.claims).toBe(0);
    expect(record.stalls).toBe(0);
  });

  it('keeps a JSON null result apart from no result', () => {
    expect(decodeTaskRecord('t1', { ...fields, result: 'null' }).result).toBeNull();
    const { result: _r, ...rest } = fields;
    expect(decodeTaskRecord('t1', rest).result).toBeUndefined();
  });

  it.each([
    ['attempts', 'abc', /attempts is not a decimal integer/],
    ['attempts', '', /attempts is not a decimal integer/],
    ['timeoutMs', ' ', /timeoutMs is not a decimal integer/],
    ['maxAttempts', '1e3', /maxAttempts is not a decimal integer/],
    ['stalls', '-1', /stalls is not a decimal integer/],
    ['maxStalls', 'x', /maxStalls is not a decimal integer/],
    ['createdAt', '9000000000000000', /createdAt Too big/],
    ['payload', '{oops', /payload is not valid JSON/],
    ['result', 'undefined', /result is not valid JSON/],
    ['priority', 'urgent', /priority/],
    ['state', 'sleeping', /state/],
    ['id', '', /id/],
  ])('names a bad %s (%j)', (field, value, message) => {
    const error = decodeError({ ...fields, [field]: value });
    expect(error.name).toBe('CorruptRecordError');
    expect(error.code).toBe('corrupt_record');
    expect(error.taskId).toBe('t1');
    expect(error.message).toMatch(/^corrupted record for task t1: /);
    expect(error.message).toMatch(message);
  });

  it('names every missing required field', () => {
    const error = decodeError(['id', 't1', 'state', 'dead', 'error', 'boom']);
    for (const field of ['type', 'payload', 'priority', 'attempts', 'maxAttempts', 'createdAt']) {
      expect(error.message).toContain(field);
    }
  });

  it("reports get-task's corrupt marker and a reply that is not a hash", () => {
    expect(decodeError(['__corrupt', 'string']).message).toBe(
      'corrupted record for task t1: the key holds a string, not a hash',
    );
    expect(decodeError(null).message).toMatch(/not a hash/);
    expect(decodeError('text').message).toMatch(/not a hash/);
  });
});

describe('toTaskView', () => {
  it('shows times as ISO-8601 and absent values as null', () => {
    const view = toTaskView(decodeTaskRecord('t1', fields));
    expect(view).toEqual({
      id: 't1',
      type: 'square',
      payload: { x: 3 },
      priority: 'high',
      state: 'succeeded',
      attempts: 2,
      maxAttempts: 5,
      result: 9,
      error: null,
      createdAt: '2023-11-14T22:13:20.000Z',
      startedAt: '2023-11-14T22:13:21.000Z',
      finishedAt: '2023-11-14T22:13:22.500Z',
      runAt: null,
      timeoutMs: 1000,
      stalls: 1,
      // The fixture has no maxStalls (a record written before it existed): the default.
      maxStalls: 3,
    });
    expect(toTaskView(decodeTaskRecord('t1', { ...fields, maxStalls: '7' })).maxStalls).toBe(7);
  });

  it('shows a pending retry with its error and run-at time', () => {
    const { result: _r, finishedAt: _f, startedAt: _s, ...rest } = fields;
    const view = toTaskView(
      decodeTaskRecord('t1', { ...rest, state: 'failed', error: 'boom', runAt: '1700000060000' }),
    );
    expect(view).toMatchObject({
      state: 'failed',
      result: null,
      error: 'boom',
      startedAt: null,
      finishedAt: null,
      runAt: '2023-11-14T22:14:20.000Z',
    });
  });
});
