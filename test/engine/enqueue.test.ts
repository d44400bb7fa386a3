import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { prepareBatch, prepareEnqueue } from '../../shared/enqueue-request.js';
import { ValidationError } from '../../shared/errors.js';
import { createProducer } from '../../shared/producer.js';
import { enqueueScript } from '../../shared/scripts/index.js';
import { defineTask } from '../../shared/task-definition.js';
import { tasks } from '../../shared/tasks/index.js';
import { engineSuite, taskArgs } from './harness.js';

const suite = engineSuite('enqueue');

describe('enqueue script', () => {
  it('writes a queued record with every policy field and appends it to its lane', async () => {
    const q = suite.queue();
    const before = await q.now();
    const reply = await q.enqueue({
      id: 'a',
      payload: '{"x":3}',
      priority: 'high',
      maxAttempts: 5,
      timeoutMs: 1000,
      backoffMs: 10,
      backoffMaxMs: 100,
      resultTtlMs: 2000,
      deadTtlMs: 3000,
      maxStalls: 4,
    });
    const after = await q.now();
    expect(reply).toEqual(['a', 'queued', 0]);
    const { createdAt, ...record } = await q.record('a');
    expect(record).toEqual({
      id: 'a',
      type: 'square',
      payload: '{"x":3}',
      priority: 'high',
      state: 'queued',
      attempts: '0',
      claims: '0',
      stalls: '0',
      maxAttempts: '5',
      timeoutMs: '1000',
      backoffMs: '10',
      backoffMaxMs: '100',
      resultTtlMs: '2000',
      deadTtlMs: '3000',
      maxStalls: '4',
    });
    expect(Number(createdAt)).toBeGreaterThanOrEqual(before);
    expect(Number(createdAt)).toBeLessThanOrEqual(after);
    expect(await q.redis.pttl(q.keys.task('a'))).toBe(-1);
    expect(await q.lane('high')).toEqual(['a']);
    expect(await q.lane('normal')).toEqual([]);
    expect(await q.stats()).toEqual({ enqueued: '1' });
    expect(await q.redis.lrange(q.keys.signal, 0, -1)).toEqual(['1']);
  });

  it('sends each priority to its lane, first in first out', async () => {
    const q = suite.queue();
    await q.enqueue(
      { id: 'l1', priority: 'low' },
      { id: 'n1', priority: 'normal' },
      { id: 'h1', priority: 'high' },
    );
    await q.enqueue({ id: 'n2' }, { id: 'h2', priority: 'high' }, { id: 'l2', priority: 'low' });
    expect(await q.lane('high')).toEqual(['h1', 'h2']);
    expect(await q.lane('normal')).toEqual(['n1', 'n2']);
    expect(await q.lane('low')).toEqual(['l1', 'l2']);
    expect(await q.stats()).toEqual({ enqueued: '6' });
    // Many enqueues leave one wake-up marker, not one per task.
    expect(await q.redis.llen(q.keys.signal)).toBe(1);
  });

  it('puts a delayed task in the delayed set scored by its run-at time, not in a lane', async () => {
    const q = suite.queue();
    const before = await q.now();
    expect(await q.enqueue({ id: 'd', delayMs: 60_000 })).toEqual(['d', 'delayed', 0]);
    const after = await q.now();
    const record = await q.record('d');
    expect(record.state).toBe('delayed');
    const runAt = Number(record.runAt);
    expect(runAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(runAt).toBeLessThanOrEqual(after + 60_000);
    expect(runAt).toBe(Number(record.createdAt) + 60_000);
    expect(await q.zset(q.keys.delayed)).toEqual({ d: runAt });
    expect(await q.lane('normal')).toEqual([]);
    expect(await q.stats()).toEqual({ enqueued: '1' });
  });

  it('writes a whole batch in one step and answers per task', async () => {
    const q = suite.queue();
    const reply = await q.enqueue(
      { id: 'b1' },
      { id: 'b2', delayMs: 5000 },
      { id: 'b3', priority: 'low' },
    );
    expect(reply).toEqual(['b1', 'queued', 0, 'b2', 'delayed', 0, 'b3', 'queued', 0]);
    expect(await q.lane('normal')).toEqual(['b1']);
    expect(await q.lane('low')).toEqual(['b3']);
    expect(Object.keys(await q.zset(q.keys.delayed))).toEqual(['b2']);
    expect(await q.stats()).toEqual({ enqueued: '3' });
  });

  it('returns the first task for a repeated idempotency key and writes nothing new', async () => {
    const q = suite.queue();
    expect(await q.enqueue({ id: 'first', idempotencyKey: 'k' })).toEqual(['first', 'queued', 0]);
    const ttl = await q.redis.pttl(q.keys.idempotency('k'));
    expect(ttl).toBeGreaterThan(86_400_000 - 5_000);
    expect(ttl).toBeLessThanOrEqual(86_400_000);
    expect(await q.redis.get(q.keys.idempotency('k'))).toBe('first');
    expect((await q.record('first')).idempotencyKey).toBe('k');
    const before = await q.snapshot();

    expect(await q.enqueue({ id: 'second', idempotencyKey: 'k', priority: 'high' })).toEqual([
      'first',
      'queued',
      1,
    ]);
    expect(await q.redis.exists(q.keys.task('second'))).toBe(0);
    const after = await q.snapshot();
    // Only the idempotency key's remaining TTL may differ; here both are shown as 'ttl'.
    expect(after).toEqual(before);
  });

  it('reports the current state of the earlier task, or expired when its record is gone', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'x', idempotencyKey: 'k1', delayMs: 10_000 });
    expect(await q.enqueue({ id: 'y', idempotencyKey: 'k1' })).toEqual(['x', 'delayed', 1]);
    await q.redis.del(q.keys.task('x'));
    expect(await q.enqueue({ id: 'z', idempotencyKey: 'k1' })).toEqual(['x', 'expired', 1]);
    expect(await q.redis.exists(q.keys.task('z'))).toBe(0);
  });

  it('deduplicates by idempotency key within one batch', async () => {
    const q = suite.queue();
    const reply = await q.enqueue(
      { id: 'a', idempotencyKey: 'same' },
      { id: 'b', idempotencyKey: 'same', priority: 'high' },
      { id: 'c' },
    );
    expect(reply).toEqual(['a', 'queued', 0, 'a', 'queued', 1, 'c', 'queued', 0]);
    expect(await q.lane('normal')).toEqual(['a', 'c']);
    expect(await q.lane('high')).toEqual([]);
    expect(await q.redis.exists(q.keys.task('b'))).toBe(0);
    expect(await q.stats()).toEqual({ enqueued: '2' });
  });

  it('sets the idempotency key TTL from the argument', async () => {
    const q = suite.queue();
    await q.enqueue({ id: 'a', idempotencyKey: 'short', idempotencyTtlMs: 5000 });
    const ttl = await q.redis.pttl(q.keys.idempotency('short'));
    expect(ttl).toBeGreaterThan(4000);
    expect(ttl).toBeLessThanOrEqual(5000);
  });

  describe('a malformed batch writes nothing at all', () => {
    const cases: [string, Parameters<typeof taskArgs>[0][], RegExp][] = [
      [
        'an unknown priority in the 2nd task',
        [{ id: 'a' }, { id: 'b', priority: 'urgent' }],
        /task 1 has unknown priority urgent/,
      ],
      ['an empty id', [{ id: 'a' }, { id: '' }], /task 1 has no id/],
      [
        'a field that is not a number',
        [{ id: 'a' }, { id: 'b', maxAttempts: Number.NaN }],
        /task 1 field 8/,
      ],
      [
        'the same id twice',
        [{ id: 'a' }, { id: 'a', priority: 'high' }],
        /task id a appears twice/,
      ],
      [
        'an idempotency TTL of 0',
        [
          { id: 'a', idempotencyKey: 'k1' },
          { id: 'b', idempotencyKey: 'k2', idempotencyTtlMs: 0 },
        ],
        /task 1 field 7/,
      ],
      ['a negative TTL', [{ id: 'a' }, { id: 'b', resultTtlMs: -5 }], /task 1 field 12/],
      ['a fractional TTL', [{ id: 'a' }, { id: 'b', deadTtlMs: 1.5 }], /task 1 field 13/],
      ['a negative maxStalls', [{ id: 'a' }, { id: 'b', maxStalls: -1 }], /task 1 field 14/],
    ];
    for (const [what, batch, message] of cases) {
      it(`with ${what}`, async () => {
        const q = suite.queue();
        await q.enqueue({ id: 'old', idempotencyKey: 'old' });
        const before = await q.snapshot();
        // The first task is valid and has an idempotency key: neither may be written.
        const [first, ...rest] = batch;
        const written = { idempotencyKey: 'fresh', ...first, id: first?.id ?? 'a' };
        await expect(q.enqueue(written, ...rest)).rejects.toThrow(message);
        expect(await q.snapshot()).toEqual(before);
      });
    }

    it('with an id that already exists and holds another task', async () => {
      const q = suite.queue();
      await q.enqueue({ id: 'old' });
      const before = await q.snapshot();
      await expect(
        q.enqueue({ id: 'new', idempotencyKey: 'n' }, { id: 'old', priority: 'low' }),
      ).rejects.toThrow(
        /task 1 \(id old\) already exists and holds another task \(field priority differs\)/,
      );
      // Any stored field of the request counts, the payload and the policy too.
      await expect(q.enqueue({ id: 'old', payload: '{"x":3}' })).rejects.toThrow(
        /field payload differs/,
      );
      await expect(q.enqueue({ id: 'old', maxAttempts: 9 })).rejects.toThrow(
        /field maxAttempts differs/,
      );
      await expect(q.enqueue({ id: 'old', idempotencyKey: 'k' })).rejects.toThrow(
        /field idempotencyKey differs/,
      );
      expect(await q.snapshot()).toEqual(before);
    });

    it('with an id whose key is not a hash', async () => {
      const q = suite.queue();
      await q.redis.set(q.keys.task('old'), 'junk');
      const before = await q.snapshot();
      await expect(q.enqueue({ id: 'new' }, { id: 'old' })).rejects.toThrow(
        /task 1 \(id old\) already exists and holds another task/,
      );
      expect(await q.snapshot()).toEqual(before);
    });
  });

  describe('a replayed request (a client re-sends a call whose reply it lost)', () => {
    it('writes nothing and answers each id with its state', async () => {
      const q = suite.queue();
      await q.enqueue({ id: 'a', idempotencyKey: 'ka' }, { id: 'b', delayMs: 60_000 });
      const before = await q.snapshot();
      const again = await q.enqueue(
        { id: 'a', idempotencyKey: 'ka' },
        { id: 'b', delayMs: 60_000 },
      );
      expect(again).toEqual(['a', 'queued', 0, 'b', 'delayed', 0]);
      expect(await q.snapshot()).toEqual(before);
    });

    it('with idempotency keys: the same ids and duplicate flags as the first answer', async () => {
      const q = suite.queue();
      await q.enqueue({ id: 'earlier', idempotencyKey: 'seen' });
      const batch = [
        { id: 'a', idempotencyKey: 'k1' },
        { id: 'b', idempotencyKey: 'k1', priority: 'high' }, // a duplicate inside the batch
        { id: 'c' },
        { id: 'd', idempotencyKey: 'seen', delayMs: 5_000 }, // names an earlier task
        { id: 'e', idempotencyKey: 'k2', delayMs: 5_000 },
      ];
      const first = await q.enqueue(...batch);
      expect(first).toEqual([
        ...['a', 'queued', 0, 'a', 'queued', 1, 'c', 'queued', 0],
        ...['earlier', 'queued', 1, 'e', 'delayed', 0],
      ]);
      const before = await q.snapshot();
      // 'b' and 'd' were never written, so not every id exists: still a replay.
      expect(await q.enqueue(...batch)).toEqual(first);
      expect(await q.snapshot()).toEqual(before);
      expect(await q.stats()).toEqual({ enqueued: '4' });
    });

    it('answers the current state of tasks that moved on since', async () => {
      const q = suite.queue();
      const batch = [
        { id: 'a', idempotencyKey: 'k' },
        { id: 'b', idempotencyKey: 'k' },
      ];
      await q.enqueue(...batch);
      await q.registerHost('h', ['t']);
      expect((await q.claim('h', ['t'])).tasks.map((t) => t.id)).toEqual(['a']);
      expect(await q.enqueue(...batch)).toEqual(['a', 'active', 0, 'a', 'active', 1]);
    });

    it('a duplicate whose key expired between the two calls is written by the second', async () => {
      const q = suite.queue();
      await q.enqueue({ id: 'earlier', idempotencyKey: 'k' });
      const batch = [{ id: 'a' }, { id: 'b', idempotencyKey: 'k' }];
      expect(await q.enqueue(...batch)).toEqual(['a', 'queued', 0, 'earlier', 'queued', 1]);
      await q.redis.del(q.keys.idempotency('k'));
      // The key names no task any more: as for any request, the task is enqueued.
      expect(await q.enqueue(...batch)).toEqual(['a', 'queued', 0, 'b', 'queued', 0]);
      expect(await q.redis.get(q.keys.idempotency('k'))).toBe('b');
      expect(await q.stats()).toEqual({ enqueued: '3' });
    });

    it('a single task with a key, replayed after its key expired: its record answers', async () => {
      const q = suite.queue();
      expect(await q.enqueue({ id: 'a', idempotencyKey: 'k' })).toEqual(['a', 'queued', 0]);
      await q.redis.del(q.keys.idempotency('k'));
      const before = await q.snapshot();
      expect(await q.enqueue({ id: 'a', idempotencyKey: 'k' })).toEqual(['a', 'queued', 0]);
      expect(await q.snapshot()).toEqual(before);
    });

    it('with a wrong field count', async () => {
      const q = suite.queue();
      const before = await q.snapshot();
      await expect(q.runArray(enqueueScript, 1, 12, ...taskArgs({ id: 'a' }))).rejects.toThrow(
        /bad enqueue arguments/,
      );
      expect(await q.snapshot()).toEqual(before);
    });
  });

  it('runs from QueueClient.enqueue with specs from prepareBatch', async () => {
    const q = suite.queue();
    let n = 0;
    const prepared = prepareBatch(
      tasks,
      [
        { type: 'square', payload: { x: 4 }, priority: 'low', maxAttempts: 7 },
        { type: 'square', payload: { x: 5 }, delaySeconds: 30, idempotencyKey: 'once' },
      ],
      { newId: () => `id${++n}` },
    );
    if (!prepared.ok) throw new Error(JSON.stringify(prepared.issues));
    expect(await q.client.enqueue(prepared.specs)).toEqual([
      { id: 'id1', state: 'queued', duplicate: false },
      { id: 'id2', state: 'delayed', duplicate: false },
    ]);
    const r1 = await q.record('id1');
    expect(r1).toMatchObject({ payload: '{"x":4}', priority: 'low', maxAttempts: '7' });
    expect(r1.timeoutMs).toBe('300000');
    expect(await q.lane('low')).toEqual(['id1']);
    const again = prepareBatch(
      tasks,
      [{ type: 'square', payload: { x: 5 }, idempotencyKey: 'once' }],
      {
        newId: () => 'id3',
      },
    );
    if (!again.ok) throw new Error('invalid');
    expect(await q.client.enqueue(again.specs)).toEqual([
      { id: 'id2', state: 'delayed', duplicate: true },
    ]);
    expect(await q.client.enqueue([])).toEqual([]);
  });

  describe('strings that would not survive UTF-8 (lone surrogates) are refused', () => {
    // Redis keys are bytes: ioredis and the REST gateway encode '\ud800' and '\udfff' both as
    // U+FFFD, so two different keys would name one idempotency key.
    it('by the typed producer, naming the field, before anything is written', async () => {
      const q = suite.queue();
      const producer = createProducer(q.client, tasks);
      const first = producer.enqueue('square', { x: 1 }, { idempotencyKey: '\ud800' });
      await expect(first).rejects.toThrow(ValidationError);
      await expect(first).rejects.toThrow(/^idempotencyKey: Must be well-formed Unicode/);
      await expect(
        producer.enqueue('square', { x: 2 }, { idempotencyKey: '\udfff' }),
      ).rejects.toThrow(/^idempotencyKey: /);
      expect(await q.allKeys()).toEqual([]);
      // Well-formed keys that differ only in an astral character stay two tasks.
      const a = await producer.enqueue('square', { x: 1 }, { idempotencyKey: 'k-\ud83d\ude00' });
      const b = await producer.enqueue('square', { x: 2 }, { idempotencyKey: 'k-\ud83d\ude01' });
      expect([a.duplicate, b.duplicate]).toEqual([false, false]);
      expect(a.id).not.toBe(b.id);
    });

    it('by QueueClient.enqueue, for specs not made by prepareEnqueue', async () => {
      const q = suite.queue();
      const prepared = prepareEnqueue(tasks, { type: 'square', payload: { x: 1 } });
      if (!prepared.ok) throw new Error('invalid');
      const spec = prepared.spec;
      await expect(
        q.client.enqueue([spec, { ...spec, id: 'x', idempotencyKey: 'k\udc00' }]),
      ).rejects.toThrow(
        /^1\.idempotencyKey: Must be well-formed Unicode: unpaired surrogate \\udc00 at index 1$/,
      );
      await expect(q.client.enqueue([{ ...spec, id: '\ud800' }])).rejects.toThrow(/^0\.id: /);
      await expect(q.client.enqueue([{ ...spec, type: '\ud800' }])).rejects.toThrow(/^0\.type: /);
      expect(await q.allKeys()).toEqual([]);
    });

    it('not in payloads: JSON.stringify escapes them, and they come back as sent', async () => {
      const q = suite.queue();
      const registry = {
        note: defineTask({ description: 'any JSON', payload: z.unknown(), result: z.null() }),
      };
      const payload = { text: 'a\ud800b', 'k\udfff': ['\udc00', '\ud83d\ude00'] };
      const { id } = await createProducer(q.client, registry).enqueue('note', payload);
      expect((await q.record(id)).payload).toBe('{"text":"a\\ud800b","k\\udfff":["\\udc00","😀"]}');
      expect((await q.client.getTask(id))?.payload).toEqual(payload);
    });

    it('by QueueClient reads, cancel and retry-dead, for ids', async () => {
      const q = suite.queue();
      await q.enqueue({ id: '\ufffd' });
      for (const call of [
        () => q.client.getTask('\ud800'),
        () => q.client.getRecord('\udfff'),
        () => q.client.cancel('\ud800'),
        () => q.client.retryDead(['ok', '\udfff']),
      ]) {
        await expect(call()).rejects.toThrow(ValidationError);
      }
      await expect(q.client.retryDead(['ok', '\udfff'])).rejects.toThrow(/^ids\.1: /);
      // The task whose id really is U+FFFD was not touched.
      expect((await q.record('\ufffd')).state).toBe('queued');
    });
  });
});
