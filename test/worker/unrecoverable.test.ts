/**
 * Failures that retrying cannot fix go straight to dead after one attempt: an UnrecoverableError,
 * a stored payload that fails its schema (written past the enqueue validation), a result that
 * fails its schema, a type the handlers module does not know. An ordinary error, by contrast,
 * spends every attempt.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareEnqueue } from '../../shared/enqueue-request.js';
import type { TaskRegistry } from '../../shared/task-definition.js';
import { tasks } from '../../shared/tasks/index.js';
import { fixtureTasks } from '../fixtures/handlers.js';
import { workerSuite } from './harness.js';

const suite = workerSuite('unrecoverable');

describe('unrecoverable failures', () => {
  beforeAll(async () => {
    await suite.startHost({ concurrency: 2 }, 'file');
  });

  async function runToEnd(request: object, registry: TaskRegistry = fixtureTasks) {
    const [id] = await suite.enqueueIds([{ maxAttempts: 3, ...request }], registry);
    if (!id) throw new Error('no id');
    return suite.waitForState(id, ['succeeded', 'dead']);
  }

  it('UnrecoverableError: dead after 1 of 3 attempts', async () => {
    const view = await runToEnd({ type: 'unrecoverable', payload: { message: 'card declined' } });
    expect(view).toMatchObject({
      state: 'dead',
      attempts: 1,
      maxAttempts: 3,
      error: 'UnrecoverableError: card declined',
    });
  });

  it('a stored payload that fails its schema: dead after 1 attempt', async () => {
    const prepared = prepareEnqueue(fixtureTasks, {
      type: 'sleep',
      payload: { ms: 1 },
      maxAttempts: 3,
    });
    if (!prepared.ok) throw new Error('invalid test task');
    // Written straight to Redis, past the producer's validation.
    const spec = { ...prepared.spec, payloadJson: '{"ms":"soon"}' };
    const [written] = await suite.queue.enqueue([spec]);
    if (!written) throw new Error('no id');
    const view = await suite.waitForState(written.id, ['succeeded', 'dead']);
    expect(view).toMatchObject({ state: 'dead', attempts: 1, payload: { ms: 'soon' } });
    expect(view.error).toMatch(/^invalid payload: payload\.ms: .*expected number/i);
  });

  it('a result that fails its schema: dead after 1 attempt', async () => {
    const view = await runToEnd({ type: 'bad-result', payload: {} });
    expect(view).toMatchObject({ state: 'dead', attempts: 1 });
    expect(view.error).toMatch(/^handler returned an invalid result: result: .*expected number/i);
  });

  it('a result JSON cannot hold: dead after 1 attempt', async () => {
    const view = await runToEnd({ type: 'bigint-result', payload: {} });
    expect(view).toMatchObject({
      state: 'dead',
      attempts: 1,
      error: 'handler returned a result that cannot be written as JSON',
    });
  });

  it('a type the handlers module does not know: dead after 1 attempt', async () => {
    const view = await runToEnd({ type: 'square', payload: { x: 2 } }, tasks);
    expect(view).toMatchObject({
      state: 'dead',
      attempts: 1,
      error: "no handler for task type 'square'",
    });
  });

  it('an ordinary error spends every attempt', async () => {
    const view = await runToEnd({ type: 'throw', payload: { message: 'flaky' } });
    expect(view).toMatchObject({ state: 'dead', attempts: 3, error: 'flaky' });
  });
});
