/**
 * Every dashboard page renders its data from a real queue (tasks made by the engine's own
 * scripts), escapes whatever Redis holds, shows actions to full sessions only, and each action
 * does what it says and comes back with a flash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueClient } from '../../shared/queue-client.js';
import type { ScriptTransport } from '../../shared/script-runner.js';
import { ioredisTransport } from '../../worker-host/redis/ioredis-transport.js';
import { EngineQueue } from '../engine/harness.js';
import { deleteNamespace, testNamespace, testRedis } from '../support/redis.js';
import { dashboardApp, FULL_TOKEN, READ_TOKEN, testId, UiClient } from './support.js';

const redis = testRedis();
const namespace = testNamespace('ui-pages');
const HOSTILE_TYPE = '<script>alert("type")</script>';
const HOSTILE_PAYLOAD = JSON.stringify({ html: '<img src=x onerror=alert(1)>' });
const HOSTILE_ERROR = '<script>alert("error")</script> & "quotes"';

/** A transport that counts script calls on their way to the real Redis. */
function countingTransport(calls: { n: number }): ScriptTransport {
  const inner = ioredisTransport(redis);
  return {
    evalsha: (...args) => {
      calls.n++;
      return inner.evalsha(...args);
    },
    eval: (...args) => {
      calls.n++;
      return inner.eval(...args);
    },
  };
}

const calls = { n: 0 };
const engine = new EngineQueue(redis, namespace, 'pages');
const client = new QueueClient(countingTransport(calls), { namespace, queue: 'pages' });
const app = dashboardApp(client);
let full: UiClient;
let read: UiClient;

/** Makes task `id` dead through a claim and a fatal finish, as a worker host would. */
async function makeDead(id: string, type = HOSTILE_TYPE): Promise<void> {
  await engine.enqueue({ id, type, priority: 'high', maxAttempts: 1, payload: HOSTILE_PAYLOAD });
  const { tasks } = await engine.claim('host-a', ['tok-1']);
  expect(tasks.map((t) => t.id)).toEqual([id]);
  await engine.finish(
    'host-a',
    [{ token: 'tok-1', id, lease: await engine.lease(id), kind: 'fatal', text: HOSTILE_ERROR }],
    { mode: 'free' },
  );
}

beforeAll(async () => {
  await engine.registerHost('host-a', ['tok-1', 'tok-2']);
  await makeDead('dead-1');
  await engine.enqueue(
    { id: 'q-normal', type: 'square', payload: HOSTILE_PAYLOAD, idempotencyKey: 'order-42' },
    { id: 'q-high', type: 'square', priority: 'high' },
    { id: 'q-low', type: 'square', priority: 'low' },
    { id: 'd-later', type: 'square', delayMs: 600_000 },
  );
  full = await new UiClient(app).login(FULL_TOKEN);
  read = await new UiClient(app).login(READ_TOKEN);
});

afterAll(async () => {
  await deleteNamespace(redis, namespace);
  redis.disconnect();
});

/** The page, checked to be 200 and to hold none of the hostile strings unescaped. */
async function page(client: UiClient, path: string): Promise<string> {
  const answer = await client.get(path);
  expect(answer.status, path).toBe(200);
  for (const hostile of ['<script>alert', '<img src=x']) expect(answer.text).not.toContain(hostile);
  return answer.text;
}

describe('pages', () => {
  it('overview: lanes, delayed, active, dead, totals, oldest waits, sparkline', async () => {
    const html = await page(full, '/ui');
    expect(testId(html, 'count-high')).toBe('1');
    expect(testId(html, 'count-normal')).toBe('1');
    expect(testId(html, 'count-low')).toBe('1');
    expect(testId(html, 'count-delayed')).toBe('1');
    expect(testId(html, 'count-active')).toBe('0');
    expect(testId(html, 'count-dead')).toBe('1');
    expect(testId(html, 'total-enqueued')).toBe('5');
    expect(testId(html, 'oldest-normal')).toMatch(/\d+ (ms|s)/);
    expect(html).toContain('data-testid="sparkline"');
    expect(html).toContain('data-refresh="/ui/fragments/overview"');
    expect(html).not.toContain('no-host-warning');
  });

  it('one refresh of the overview is one Redis call', async () => {
    const before = calls.n;
    const answer = await full.get('/ui/fragments/overview');
    expect(answer.status).toBe(200);
    expect(testId(answer.text, 'count-normal')).toBe('1');
    expect(answer.text).not.toContain('<html');
    expect(calls.n - before).toBe(1);
  });

  it('warns when work waits and no host is alive', async () => {
    const lonely = new EngineQueue(redis, namespace, 'lonely');
    await lonely.enqueue({ id: 'alone' });
    const other = dashboardApp(lonely.client);
    const client = await new UiClient(other).login(FULL_TOKEN);
    expect((await page(client, '/ui')).includes('data-testid="no-host-warning"')).toBe(true);
    expect((await page(client, '/ui/hosts')).includes('data-testid="no-host-warning"')).toBe(true);
  });

  it('hosts: each host with free, busy and prefetched slots', async () => {
    const html = await page(full, '/ui/hosts');
    expect(html).toMatch(/data-testid="host-row" data-host-id="host-a"/);
    expect(testId(html, 'host-free')).toBe('2');
    expect(testId(html, 'host-busy')).toBe('0');
    expect(testId(html, 'host-prefetched')).toBe('0');
  });

  it('search: by idempotency key, by id, by type and state', async () => {
    const byKey = await page(full, '/ui/tasks?key=order-42');
    expect(byKey).toMatch(/data-testid="task-row" data-task-id="q-normal"/);
    const byId = await full.get('/ui/tasks?id=q-normal');
    expect(byId.status).toBe(303);
    expect(byId.location).toBe('/ui/tasks/q-normal');
    const missing = await page(full, '/ui/tasks?id=nope');
    expect(missing).toContain('data-testid="no-results"');
    const byState = await page(full, '/ui/tasks?state=dead');
    expect(byState).toMatch(/data-task-id="dead-1"/);
    expect(byState).not.toMatch(/data-task-id="q-normal"/);
    const byType = await page(full, '/ui/tasks?type=square');
    expect(byType).toMatch(/data-task-id="q-normal"/);
    expect(byType).not.toMatch(/data-task-id="dead-1"/);
    for (const id of ['search-id', 'search-key', 'search-type', 'search-state', 'search-submit']) {
      expect(byType).toContain(`data-testid="${id}"`);
    }
  });

  it('search pages with a cursor', async () => {
    const many = Array.from({ length: 55 }, (_, i) => ({ id: `many-${i}`, type: 'many' }));
    await engine.enqueue(...many);
    const first = await page(full, '/ui/tasks?type=many');
    const firstIds = [...first.matchAll(/data-testid="task-row" data-task-id="([^"]+)"/g)];
    expect(firstIds.length).toBe(50);
    const next = /<a href="([^"]+)" data-testid="next-page"/.exec(first)?.[1] as string;
    expect(next).toMatch(/^\/ui\/tasks\?type=many&amp;cursor=/);
    const second = await page(full, next.replaceAll('&amp;', '&'));
    const secondIds = [...second.matchAll(/data-testid="task-row" data-task-id="([^"]+)"/g)];
    expect(secondIds.length).toBe(5);
    expect(second).not.toContain('data-testid="next-page"');
    const all = new Set([...firstIds, ...secondIds].map((m) => m[1]));
    expect(all.size).toBe(55);
  });

  it('task page: fields, escaped payload and error, actions for its state', async () => {
    const html = await page(full, '/ui/tasks/q-normal');
    expect(testId(html, 'task-id')).toBe('q-normal');
    expect(testId(html, 'task-state')).toBe('queued');
    expect(testId(html, 'task-type')).toBe('square');
    expect(testId(html, 'task-attempts')).toMatch(/^0 \/ \d+$/);
    expect(testId(html, 'task-payload')).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('data-testid="cancel-button"');
    expect(html).not.toContain('data-testid="run-now-button"');

    const dead = await page(full, '/ui/tasks/dead-1');
    expect(testId(dead, 'task-type')).toBe('&lt;script&gt;alert(&quot;type&quot;)&lt;/script&gt;');
    expect(testId(dead, 'task-error')).toBe(
      '&lt;script&gt;alert(&quot;error&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;',
    );
    expect((await full.get('/ui/tasks/nope')).status).toBe(404);
  });

  it('dead letters: rows with escaped errors, per-row and bulk actions', async () => {
    const html = await page(full, '/ui/dead');
    expect(html).toMatch(/data-testid="dead-row" data-task-id="dead-1"/);
    expect(testId(html, 'dead-error')).toContain('&lt;script&gt;alert(&quot;error&quot;)');
    for (const id of [
      'dead-select',
      'retry-button',
      'delete-button',
      'retry-selected',
      'delete-selected',
      'retry-all-matching',
      'delete-all-matching',
    ]) {
      expect(html).toContain(`data-testid="${id}"`);
    }
  });

  it('waiting lists: lanes and delayed, with cancel and run-now', async () => {
    const normal = await page(full, '/ui/waiting/normal');
    expect(normal).toMatch(/data-testid="waiting-row" data-task-id="q-normal"/);
    expect(normal).toContain('data-testid="cancel-button"');
    expect(normal).not.toContain('data-testid="run-now-button"');
    const delayed = await page(full, '/ui/waiting/delayed');
    expect(delayed).toMatch(/data-testid="waiting-row" data-task-id="d-later"/);
    expect(delayed).toContain('data-testid="run-now-button"');
    expect((await full.get('/ui/waiting/nope')).status).toBe(404);
  });

  it('a read-only session sees every page without action buttons', async () => {
    for (const path of [
      '/ui/dead',
      '/ui/waiting/delayed',
      '/ui/tasks/q-normal',
      '/ui/tasks/dead-1',
    ]) {
      const html = await page(read, path);
      expect(html, path).not.toMatch(
        /data-testid="(cancel-button|run-now-button|retry-button|delete-button|dead-select|retry-selected|delete-selected|retry-all-matching|delete-all-matching)"/,
      );
    }
    expect(await page(read, '/ui/dead')).toMatch(/data-task-id="dead-1"/);
  });
});

describe('actions', () => {
  /** Posts an action and follows its redirect; returns the flash shown there. */
  async function act(path: string, fields: Record<string, string | string[]>, back?: string) {
    const answer = await full.post(path, back ? { ...fields, back } : fields);
    expect(answer.status, answer.text).toBe(303);
    const next = await page(full, answer.location as string);
    return { location: answer.location, flash: testId(next, 'flash') ?? '' };
  }

  it('runs a delayed task now', async () => {
    const { location, flash } = await act('/ui/tasks/d-later/run-now', {}, '/ui/waiting/delayed');
    expect(location).toBe('/ui/waiting/delayed');
    expect(flash).toMatch(/queued/);
    expect((await client.getTask('d-later'))?.state).toBe('queued');
    expect((await act('/ui/tasks/nope/run-now', {})).flash).toMatch(/No task/);
  });

  it('cancels a queued task, and says why it cannot cancel a dead one', async () => {
    expect((await act('/ui/tasks/q-low/cancel', {})).flash).toMatch(/Canceled/);
    expect((await client.getTask('q-low'))?.state).toBe('canceled');
    expect((await act('/ui/tasks/dead-1/cancel', {})).flash).toMatch(/dead/);
  });

  it('retries one dead letter, and deletes selected ones', async () => {
    const retried = await act('/ui/dead/retry', { ids: 'dead-1' }, '/ui/dead');
    expect(retried.location).toBe('/ui/dead');
    expect(retried.flash).toMatch(/Retried 1 dead letter/);
    expect((await client.getTask('dead-1'))?.state).toBe('queued');

    await engine.redis.del(engine.keys.laneHigh);
    await makeDead('dead-2', 'doomed');
    await makeDead('dead-3', 'doomed');
    const deleted = await act('/ui/dead/delete', { 'ids[]': ['dead-2', 'dead-3'] }, '/ui/dead');
    expect(deleted.flash).toMatch(/Deleted 2 dead letters/);
    expect(await client.getTask('dead-2')).toBeNull();
  });

  it('retries all matching a filter after a confirmation', async () => {
    await makeDead('dead-4', 'bulk');
    await makeDead('dead-5', 'bulk');
    await makeDead('dead-6', 'other');
    const confirm = await full.post('/ui/dead/retry-matching', { type: 'bulk' });
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('data-testid="confirm-button"');
    expect((await client.getTask('dead-4'))?.state).toBe('dead');

    const done = await act('/ui/dead/retry-matching', { type: 'bulk', confirm: 'yes' });
    expect(done.location).toBe('/ui/dead?type=bulk');
    expect(done.flash).toMatch(/Retried 2 dead letters/);
    expect((await client.getTask('dead-5'))?.state).toBe('queued');
    expect((await client.getTask('dead-6'))?.state).toBe('dead');

    const gone = await act('/ui/dead/delete-matching', { type: 'other', confirm: 'yes' });
    expect(gone.flash).toMatch(/Deleted 1 dead letter/);
    expect(await client.getTask('dead-6')).toBeNull();
  });
});
