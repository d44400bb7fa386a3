import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/errors.js';
import { createProducer } from '../../shared/producer.js';
import { tasks } from '../../shared/tasks/index.js';
import { deleteNamespace, testNamespace, testQueue, testRedis } from '../support/redis.js';

const redis = testRedis();
const namespace = testNamespace('producer');
const client = testQueue(redis, namespace);
const producer = createProducer(client, tasks);

afterAll(async () => {
  await deleteNamespace(redis, namespace);
  redis.disconnect();
});

describe('typed producer', () => {
  it('enqueues a valid task with its options', async () => {
    const result = await producer.enqueue('square', { x: 4 }, { priority: 'low', maxAttempts: 5 });
    expect(result).toMatchObject({ state: 'queued', duplicate: false });
    const view = await client.getTask(result.id);
    expect(view).toMatchObject({
      type: 'square',
      payload: { x: 4 },
      priority: 'low',
      maxAttempts: 5,
    });
  });

  it('refuses a payload that fails the schema and writes nothing', async () => {
    const before = await client.stats();
    // @ts-expect-error: x must be a number, as the declaration says.
    const attempt = producer.enqueue('square', { x: 'four' });
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toThrow(/payload\.x/);
    expect(await client.stats()).toEqual(before);
  });

  it('enqueues a batch atomically, or nothing when one entry is invalid', async () => {
    const results = await producer.enqueueMany([
      { type: 'square', payload: { x: 1 } },
      { type: 'square', payload: { x: 2 }, priority: 'high' },
    ]);
    expect(results.map((r) => r.state)).toEqual(['queued', 'queued']);
    const before = await client.stats();
    await expect(
      producer.enqueueMany([
        { type: 'square', payload: { x: 3 } },
        // @ts-expect-error: delayMs must be a number; the run-time check catches it as well.
        { type: 'square', payload: { x: 3, delayMs: 'soon' } },
      ]),
    ).rejects.toThrow(/1\.payload\.delayMs/);
    expect(await client.stats()).toEqual(before);
  });
});
