/**
 * `forklift dashboard` (the Node mount, over ioredis) on a 3-master Redis Cluster with a queue of
 * three shards: its overview counts every shard's lanes, a task is found by its idempotency key
 * whatever shard holds it, and the counts follow a worker host as it runs the tasks. Real servers
 * and processes, nothing mocked.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, expect, it } from 'vitest';
import { prepareBatch } from '../../shared/enqueue-request.js';
import { QueueClient } from '../../shared/queue-client.js';
import { ioredisTransport } from '../../worker-host/redis/ioredis-transport.js';
import { fixtureTasks } from '../fixtures/handlers.js';
import { ROOT, TSX } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/redis.js';
import { clusterSuite } from './harness.js';

const suite = clusterSuite('cluster-dashboard');
const TOKEN = 'cluster-dashboard-token-0123456789';
const SHARDS = 3;
let dashboard: ChildProcess | undefined;

afterAll(() => {
  if (dashboard?.exitCode === null) dashboard.kill('SIGKILL');
});

/** Starts `forklift dashboard` on the cluster; resolves to its base URL once it listens. */
async function startDashboard(): Promise<string> {
  const port = await freePort();
  const child = spawn(TSX, ['worker-host/cli/main.ts', 'dashboard', '--port', String(port)], {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL: suite.url,
      FORKLIFT_NAMESPACE: suite.namespace,
      FORKLIFT_SHARDS: String(SHARDS),
      FORKLIFT_API_TOKENS: TOKEN,
    },
  });
  dashboard = child;
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  await waitFor(async () => stdout.includes('/ui') || child.exitCode !== null, {
    timeoutMs: 30_000,
    intervalMs: 100,
    what: 'forklift dashboard to listen',
  });
  if (child.exitCode !== null) throw new Error(`dashboard exited ${child.exitCode}: ${stderr}`);
  return `http://localhost:${port}`;
}

/** The text of the element with `data-testid="<id>"` (a count). */
function testIdText(html: string, id: string): string | undefined {
  return new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(html)?.[1]?.trim();
}

it('serves one queue of three shards: counts, search by key and totals, across the shards', async () => {
  const producer = new QueueClient(ioredisTransport(suite.redis), {
    namespace: suite.namespace,
    shards: SHARDS,
  });
  const requests = Array.from({ length: 9 }, (_, i) => ({
    type: 'sleep',
    payload: { ms: i },
    idempotencyKey: `dash-${i}`,
  }));
  const prepared = prepareBatch(fixtureTasks, requests);
  if (!prepared.ok) throw new Error(JSON.stringify(prepared.issues));
  const ids = (await producer.enqueue(prepared.specs)).map((r) => r.id);
  // The nine tasks are spread over more than one shard (ids end in .s<shard>).
  expect(new Set(ids.map((id) => id.slice(id.lastIndexOf('.')))).size).toBeGreaterThan(1);

  const base = await startDashboard();
  const signedIn = await fetch(`${base}/ui/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${TOKEN}`,
  });
  expect(signedIn.status).toBe(303);
  const cookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const page = async (path: string) => {
    const res = await fetch(`${base}${path}`, { headers: { cookie } });
    expect(res.status, path).toBe(200);
    return res.text();
  };

  expect(testIdText(await page('/ui'), 'count-normal')).toBe('9');

  const found = await page('/ui/tasks?key=dash-7');
  const expected = ids[7] as string;
  expect(found).toContain(`data-task-id="${expected}"`);
  const taskPage = await page(`/ui/tasks/${encodeURIComponent(expected)}`);
  expect(/data-testid="task-state" data-state="([^"]*)"/.exec(taskPage)?.[1]).toBe('queued');

  await suite.startHost({ shards: SHARDS });
  await waitFor(async () => testIdText(await page('/ui'), 'count-normal') === '0', {
    timeoutMs: 30_000,
    intervalMs: 250,
    what: 'the overview to count the lanes empty',
  });
  await waitFor(async () => (await producer.stats()).succeeded === 9, {
    timeoutMs: 30_000,
    intervalMs: 250,
    what: 'nine tasks to succeed',
  });
  expect(testIdText(await page('/ui'), 'total-succeeded')).toBe('9');

  dashboard?.kill('SIGTERM');
  const [code] = await once(dashboard as ChildProcess, 'exit');
  expect(code).toBe(0);
}, 90_000);
