/**
 * Idempotency keys: a repeat enqueue with the same key returns the first task's id and state,
 * and the task runs once, also when the repeat comes after it finished.
 */
import { describe, expect, it } from 'vitest';
import { readRecords, workerSuite } from './harness.js';

const suite = workerSuite('idempotency');

describe('idempotency key', () => {
  it('a repeated key names the first task, which runs exactly once', async () => {
    const file = suite.logFile();
    const request = {
      type: 'record',
      payload: { file, tag: 'once' },
      idempotencyKey: 'order-42',
    };
    const [first] = await suite.enqueue([request]);
    const [second] = await suite.enqueue([{ ...request, payload: { file, tag: 'twice' } }]);
    expect(first).toMatchObject({ state: 'queued', duplicate: false });
    expect(second).toEqual({ id: first?.id, state: 'queued', duplicate: true });

    await suite.startHost({ concurrency: 2 });
    const [other] = await suite.enqueueIds([{ type: 'record', payload: { file, tag: 'other' } }]);
    if (!first || !other) throw new Error('no ids');
    await suite.waitForAll([first.id, other], 'succeeded');

    const [third] = await suite.enqueue([{ ...request, payload: { file, tag: 'thrice' } }]);
    expect(third).toEqual({ id: first.id, state: 'succeeded', duplicate: true });

    const records = readRecords(file);
    expect(records.map((r) => r.tag).sort()).toEqual(['once', 'other']);
    expect(records.find((r) => r.tag === 'once')?.id).toBe(first.id);
  });
});
