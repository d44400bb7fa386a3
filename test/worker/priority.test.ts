/**
 * Priority lanes end to end: tasks enqueued while no worker runs are served high → normal →
 * low, FIFO within a lane (strict order), and with weights the low lane is served while high
 * work still waits.
 */
import { describe, expect, it } from 'vitest';
import { readRecords, workerSuite } from './harness.js';

const suite = workerSuite('priority');

describe('priority lanes', () => {
  it('strict: with concurrency 1, all high (FIFO), then normal, then low', async () => {
    const file = suite.logFile();
    // Enqueued interleaved, before any host runs.
    const plan = ['low', 'normal', 'high', 'low', 'high', 'normal', 'normal', 'low', 'high'];
    const seen: Record<string, number> = {};
    const tags = plan.map((priority) => {
      seen[priority] = (seen[priority] ?? 0) + 1;
      return `${priority}-${seen[priority]}`;
    });
    const ids = await suite.enqueueIds(
      plan.map((priority, i) => ({ type: 'record', priority, payload: { file, tag: tags[i] } })),
    );

    await suite.startHost({ concurrency: 1 });
    const views = await suite.waitForAll(ids);
    expect(views.map((v) => v.state)).toEqual(ids.map(() => 'succeeded'));

    expect(readRecords(file).map((r) => r.tag)).toEqual([
      'high-1',
      'high-2',
      'high-3',
      'normal-1',
      'normal-2',
      'normal-3',
      'low-1',
      'low-2',
      'low-3',
    ]);
  });

  it('weighted [6,3,1]: low tasks are served while high ones still wait', async () => {
    const file = suite.logFile();
    const requests = [
      ...Array.from({ length: 12 }, (_, i) => ({
        type: 'record',
        priority: 'high',
        payload: { file, tag: `high-${i + 1}` },
      })),
      ...Array.from({ length: 3 }, (_, i) => ({
        type: 'record',
        priority: 'low',
        payload: { file, tag: `low-${i + 1}` },
      })),
    ];
    const ids = await suite.enqueueIds(requests);

    await suite.startHost({ concurrency: 1, weights: [6, 3, 1] });
    await suite.waitForAll(ids, 'succeeded');

    const records = readRecords(file);
    expect(records).toHaveLength(15);
    const lastHigh = records.findLast((r) => r.tag.startsWith('high'));
    const firstLow = records.find((r) => r.tag.startsWith('low'));
    if (!lastHigh || !firstLow) throw new Error('missing records');
    // Some low task finished before the last high one started ...
    expect(firstLow.end).toBeLessThanOrEqual(lastHigh.start);
    // ... and each lane stayed FIFO.
    const order = (prefix: string) =>
      records.filter((r) => r.tag.startsWith(prefix)).map((r) => Number(r.tag.split('-')[1]));
    expect(order('high')).toEqual([...order('high')].sort((a, b) => a - b));
    expect(order('low')).toEqual([1, 2, 3]);
  });
});
