/**
 * Cancel through QueueClient.cancel: a queued task and a delayed task are canceled and never
 * run; a running task cannot be canceled (conflict, state active) and finishes normally.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/redis.js';
import { readRecords, sleep, workerSuite } from './harness.js';

const suite = workerSuite('cancel');

describe('cancel', () => {
  it('a queued task is canceled and never runs', async () => {
    const file = suite.logFile();
    const [canceled, kept] = await suite.enqueueIds([
      { type: 'record', payload: { file, tag: 'canceled' } },
      { type: 'record', payload: { file, tag: 'kept' } },
    ]);
    if (!canceled || !kept) throw new Error('no ids');
    expect(await suite.queue.cancel(canceled)).toEqual({ outcome: 'canceled' });
    // A cancel sent again (a replay) gets the same answer, and changes nothing.
    expect(await suite.queue.cancel(canceled)).toEqual({ outcome: 'canceled' });

    await suite.startHost({ concurrency: 1 });
    await suite.waitForState(kept, 'succeeded');
    expect(await suite.queue.getTask(canceled)).toMatchObject({ state: 'canceled', attempts: 0 });
    expect(readRecords(file).map((r) => r.tag)).toEqual(['kept']);
  });

  it('a delayed task is canceled and does not run when its time comes', async () => {
    await suite.startHost({ concurrency: 1 });
    const file = suite.logFile();
    const [id] = await suite.enqueueIds([
      { type: 'record', payload: { file, tag: 'delayed' }, delaySeconds: 0.5 },
    ]);
    if (!id) throw new Error('no id');
    expect(await suite.queue.cancel(id)).toEqual({ outcome: 'canceled' });
    expect(await suite.redis.zcard(suite.keys.delayed)).toBe(0);

    await sleep(1_000);
    // A task enqueued after it, due now, runs: the host was looking.
    const [after] = await suite.enqueueIds([{ type: 'record', payload: { file, tag: 'after' } }]);
    if (!after) throw new Error('no id');
    await suite.waitForState(after, 'succeeded');
    expect(await suite.queue.getTask(id)).toMatchObject({ state: 'canceled', attempts: 0 });
    expect(readRecords(file).map((r) => r.tag)).toEqual(['after']);
  });

  it('a running task is a conflict and finishes normally', async () => {
    await suite.startHost({ concurrency: 1 });
    const [id] = await suite.enqueueIds([{ type: 'sleep', payload: { ms: 500 } }]);
    if (!id) throw new Error('no id');
    await waitFor(async () => (await suite.queue.getTask(id))?.state === 'active', {
      what: 'the task to run',
    });
    expect(await suite.queue.cancel(id)).toEqual({ outcome: 'conflict', state: 'active' });
    expect(await suite.waitForState(id, ['succeeded', 'canceled', 'dead'])).toMatchObject({
      state: 'succeeded',
    });
    expect(await suite.queue.cancel('no-such-task')).toEqual({ outcome: 'not_found' });
  });
});
