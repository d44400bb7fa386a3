import { describe, expect, it } from 'vitest';
import { scriptSha } from '../../shared/script-runner.js';
import { LIST_DEAD_MAX_SKIPPED, listDeadScript } from '../../shared/scripts/list-dead.js';
import { DEAD_SWEEP_BATCH } from '../../shared/scripts/lua-common.js';
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

  it('skips ids whose record has expired and removes them from the index', async () => {
    const q = suite.queue();
    for (const id of ['d1', 'd2', 'd3', 'd4', 'd5']) await kill(q, id);
    await q.redis.del(q.keys.task('d4'), q.keys.task('d2'));
    // The page is filled from further entries: two live tasks, newest first. Only what the page
    // went through is checked: 'd2' is still in the index.
    const reply = await q.runArray(listDeadScript, 0, 2);
    expect(reply.filter((_, i) => i === 0 || (i - 1) % 5 === 0)).toEqual([4, 'd5', 'd3']);
    expect(Object.keys(await q.zset(q.keys.dead)).sort()).toEqual(['d1', 'd2', 'd3', 'd5']);
    expect(await q.client.listDead(0, 10)).toMatchObject({
      total: 3,
      tasks: [{ id: 'd5' }, { id: 'd3' }, { id: 'd1', type: 'type-d1', error: 'd1 broke' }],
    });
    // Offsets count live entries once the gone ones are out.
    expect((await q.client.listDead(2, 10)).tasks.map((t) => t.id)).toEqual(['d1']);
    await q.redis.del(q.keys.task('d1'), q.keys.task('d3'), q.keys.task('d5'));
    expect(await q.runArray(listDeadScript, 0, 10)).toEqual([0]);
    expect(await q.redis.exists(q.keys.dead)).toBe(0);
  });

  it(`checks at most count + ${LIST_DEAD_MAX_SKIPPED} entries per call`, async () => {
    const q = suite.queue();
    await kill(q, 'live');
    // More gone entries than one call may skip, all newer than the live task.
    const now = await q.now();
    const gone = LIST_DEAD_MAX_SKIPPED + 5;
    const members = Array.from({ length: gone }, (_, i) => [now + 1000 + i, `gone-${i}`]).flat();
    await q.redis.zadd(q.keys.dead, ...members);
    const first = await q.client.listDead(0, 1);
    // One entry of the page's own count and the skip allowance: all gone, all removed.
    expect(first).toEqual({ total: 5, tasks: [] });
    expect(await q.client.listDead(0, 1)).toMatchObject({ total: 1, tasks: [{ id: 'live' }] });
  });

  it('run read-only (EVALSHA_RO), skips gone ids the same way and writes nothing', async () => {
    const q = suite.queue();
    for (const id of ['d1', 'd2', 'd3']) await kill(q, id);
    await q.redis.del(q.keys.task('d2'));
    await q.redis.script('LOAD', listDeadScript.source);
    const before = await q.snapshot();
    const reply = (await q.redis.evalsha_ro(
      await scriptSha(listDeadScript),
      q.keys.scriptKeys.length,
      ...q.keys.scriptKeys,
      q.keys.prefix,
      0,
      10,
    )) as unknown[];
    // The index still counts 'd2', which it could not drop.
    expect(reply.filter((_, i) => i === 0 || (i - 1) % 5 === 0)).toEqual([3, 'd3', 'd1']);
    expect(await q.snapshot()).toEqual(before);
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

describe('the dead index trim (every bury)', () => {
  /** Writes dead records (or, with `ttlMs` 0, index entries whose record is gone). */
  async function deadEntries(q: EngineQueue, prefix: string, n: number, at: number, ttlMs: number) {
    for (let i = 0; i < n; i++) {
      const id = `${prefix}-${i}`;
      await q.redis.zadd(q.keys.dead, at + i, id);
      if (ttlMs > 0) {
        await q.redis.hset(q.keys.task(id), 'id', id, 'state', 'dead', 'finishedAt', at + i);
        await q.redis.pexpire(q.keys.task(id), ttlMs);
      }
    }
  }

  const goneIn = async (q: EngineQueue, prefix: string) =>
    Object.keys(await q.zset(q.keys.dead)).filter((id) => id.startsWith(prefix)).length;

  it('is not stuck behind older entries with a longer TTL', async () => {
    const q = suite.queue();
    const now = await q.now();
    // 150 dead records of a type kept for 30 days, then 30 entries of a type kept for a minute,
    // whose records have expired: the oldest entries are all alive.
    await deadEntries(q, 'long', 150, now - 3_600_000, 30 * 86_400_000);
    await deadEntries(q, 'short', 30, now - 120_000, 0);
    // Each bury checks DEAD_SWEEP_BATCH entries, going on from where the last one stopped.
    const buries = Math.ceil(182 / (DEAD_SWEEP_BATCH - 1)) + 1;
    for (let i = 0; i < buries; i++) await kill(q, `new-${i}`);
    expect(await goneIn(q, 'short')).toBe(0);
    expect(await goneIn(q, 'long')).toBe(150);
    expect(await goneIn(q, 'new')).toBe(buries);
  });

  it(`checks at most ${DEAD_SWEEP_BATCH} entries per bury`, async () => {
    const q = suite.queue();
    const now = await q.now();
    await deadEntries(q, 'gone', DEAD_SWEEP_BATCH * 2, now - 60_000, 0);
    await kill(q, 'a');
    expect(await goneIn(q, 'gone')).toBe(DEAD_SWEEP_BATCH);
    await kill(q, 'b');
    expect(await goneIn(q, 'gone')).toBe(0);
    expect(Object.keys(await q.zset(q.keys.dead))).toEqual(['a', 'b']);
  });
});
