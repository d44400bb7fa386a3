/**
 * Delayed tasks: a task enqueued with a delay is not run before its time (even with an idle
 * host blocked on the queue), and then runs.
 */
import { describe, expect, it } from 'vitest';
import { readRecords, sleep, workerSuite } from './harness.js';

const suite = workerSuite('delay');

describe('delay', () => {
  it('runs a delayed task no earlier than its delay, then runs it', async () => {
    await suite.startHost({ concurrency: 1 });
    const file = suite.logFile();
    const [task] = await suite.enqueue([
      { type: 'record', payload: { file, tag: 'late' }, delaySeconds: 1.5 },
    ]);
    if (!task) throw new Error('no id');
    expect(task.state).toBe('delayed');
    const view = await suite.queue.getTask(task.id);
    if (!view?.runAt) throw new Error('no runAt');
    const runAt = Date.parse(view.runAt);
    expect(runAt - Date.parse(view.createdAt)).toBe(1_500);

    await sleep(700);
    expect(await suite.queue.getTask(task.id)).toMatchObject({ state: 'delayed' });
    expect(readRecords(file)).toEqual([]);

    const done = await suite.waitForState(task.id, 'succeeded');
    const [record] = readRecords(file);
    // Redis' clock set runAt and this machine's the start time: they are the same clock here.
    expect(record?.start).toBeGreaterThanOrEqual(runAt);
    expect(Date.parse(done.startedAt ?? '')).toBeGreaterThanOrEqual(runAt);
  });
});
