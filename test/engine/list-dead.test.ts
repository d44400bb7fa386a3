import { describe, expect, it } from 'vitest';
import { listDeadScript } from '../../shared/scripts/index.js';
import { type EngineQueue, engineSuite, sleep } from './harness.js';

const suite = engineSuite('list-dead');

/** Enqueues `id` and kills it through claim and a 'fatal' finish. */
async function kill(q: EngineQueue, id: string): Promise<void> {
  await q.registerHost('h', ['a']);
  await q.enqueue({ id, type: `type-${id}` });
  const { tasks } = await q.claim('h', ['a']);
  const lease = tasks[0]?.fields.claims ?? '';
  const { outcomes } = await q.finish(
    'h',
    [{ token: 'a', id, lease, kind: 'fatal', text: `${id} broke` }],
    { mode: 'free' },
  );
  expect(outcomes).toEqual(['dead']);
  await sleep(2);
}

describe('list-dead script', () => {
  it('pages dead tasks newest first with type, attempts, error and time', async () => {
    const q = suite.queue();
    for (const id of ['d1', 'd2', 'd3']) await kill(q, id);
    const d3 = await q.record('d3');
    const reply = await q.runArray(listDeadScript, 0, 2);
    expect(reply).toEqual([
      3,
      'd3',
      'type-d3',
      '1',
      'd3 broke',
      d3.finishedAt,
      'd2',
      'type-d2',
      '1',
      'd2 broke',
      (await q.record('d2')).finishedAt,
    ]);
    expect((await q.runArray(listDeadScript, 2, 2)).slice(0, 2)).toEqual([3, 'd1']);
    expect(await q.runArray(listDeadScript, 5, 2)).toEqual([3]);
    expect(listDeadScript.readOnly).toBe(true);
  });

  it('shows empty fields for a record that has expired', async () => {
    const q = suite.queue();
    await kill(q, 'gone');
    await q.redis.del(q.keys.task('gone'));
    expect(await q.runArray(listDeadScript, 0, 10)).toEqual([1, 'gone', '', '', '', '']);
    expect(await q.client.listDead()).toEqual({
      total: 1,
      tasks: [{ id: 'gone', type: '', attempts: 0, error: '', finishedAt: null }],
    });
  });

  it('returns an empty page for a count of 0', async () => {
    const q = suite.queue();
    await kill(q, 'd');
    expect(await q.runArray(listDeadScript, 0, 0)).toEqual([1]);
  });

  it('is decoded by QueueClient.listDead', async () => {
    const q = suite.queue();
    await kill(q, 'a');
    await kill(q, 'b');
    const finished = Number((await q.record('b')).finishedAt);
    expect(await q.client.listDead(0, 1)).toEqual({
      total: 2,
      tasks: [
        {
          id: 'b',
          type: 'type-b',
          attempts: 1,
          error: 'b broke',
          finishedAt: new Date(finished).toISOString(),
        },
      ],
    });
    expect(await q.client.listDead(5, 1)).toEqual({ total: 2, tasks: [] });
  });
});
