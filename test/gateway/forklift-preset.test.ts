/**
 * The `forklift` preset is enough for every `QueueClient` operation (what the edge runs), over
 * the edge's own transport (@upstash/redis, EVALSHA with EVAL fallback), against the real Redis in
 * a namespace of its own. A script missing from the preset's list fails here with NOPERM.
 */
import type { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedis, upstashTransport } from '../../edge/upstash-transport.js';
import { prepareEnqueue } from '../../shared/enqueue-request.js';
import { QueueClient } from '../../shared/queue-client.js';
import { tasks } from '../../shared/tasks/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deleteNamespace, testNamespace, testRedis } from '../support/redis.js';

const namespace = testNamespace('gw-preset');
let gw: TestGateway;
let direct: IORedis;
let queue: QueueClient;

beforeAll(async () => {
  gw = await startTestGateway({ allow: 'forklift' });
  direct = testRedis();
  const redis = createRedis({ url: gw.url, token: gw.token, timeoutMs: 5_000 });
  queue = new QueueClient(upstashTransport(redis), { namespace });
});

afterAll(async () => {
  await deleteNamespace(direct, namespace);
  direct.disconnect();
  await gw?.close();
});

function spec(input: Record<string, unknown>) {
  const prepared = prepareEnqueue(tasks, { type: 'square', payload: { x: 2 }, ...input });
  if (!prepared.ok) throw new Error(JSON.stringify(prepared.issues));
  return prepared.spec;
}

it('runs every QueueClient operation through the preset', async () => {
  const [now, later] = await queue.enqueue([spec({}), spec({ delaySeconds: 600 })]);
  expect(now).toMatchObject({ state: 'queued', duplicate: false });
  expect(later).toMatchObject({ state: 'delayed', duplicate: false });
  expect(await queue.getTask(now?.id ?? '')).toMatchObject({ id: now?.id, state: 'queued' });
  expect(await queue.cancel(later?.id ?? '')).toEqual({ outcome: 'canceled' });
  expect(await queue.getTask('no-such-task')).toBeNull();
  expect(await queue.stats()).toMatchObject({ lanes: { normal: 1 }, canceled: 1 });
  expect(await queue.listDead()).toEqual({ total: 0, tasks: [] });
  expect(await queue.retryDead(['no-such-task'])).toEqual({
    retried: 0,
    notDead: ['no-such-task'],
  });
  expect(await queue.retryAllDead()).toBe(0);
  // The operator views and actions of the dashboard and the edge's operator routes.
  expect(await queue.overview()).toMatchObject({ lanes: [{ size: 0 }, { size: 1 }, { size: 0 }] });
  expect((await queue.searchTasks({})).tasks.map((t) => t.id).sort()).toEqual(
    [now?.id, later?.id].sort(),
  );
  const keyed = await queue.enqueue([spec({ idempotencyKey: 'preset-key', delaySeconds: 600 })]);
  expect(await queue.findByIdempotencyKey('preset-key')).toMatchObject({ id: keyed[0]?.id });
  expect(await queue.listWaiting('delayed', 0, 10)).toMatchObject({ total: 1 });
  expect(await queue.runNow(keyed[0]?.id ?? '')).toEqual({ outcome: 'queued' });
  expect(await queue.deadPage({}, 0, 10)).toEqual({ total: 0, tasks: [] });
  expect(await queue.deleteDead(['no-such-task'])).toEqual({
    deleted: 0,
    notDead: ['no-such-task'],
  });
  expect(await queue.retryDeadMatching({}, null)).toEqual({
    processed: 0,
    done: true,
    cursor: null,
  });
  expect(await queue.deleteDeadMatching({ type: 'square' }, null)).toMatchObject({ done: true });
});
