/**
 * The dashboard as the edge Worker serves it: bundled for workerd, run in Miniflare, reading the
 * real Redis through the REST gateway (forklift preset). The same sub-app as on Node; this checks
 * the mount, the configuration from bindings, and that sessions and pages work inside workerd.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { edgeBindings, startTestEdge, startTestEdges, type TestEdge } from '../support/edge.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deleteNamespace, testNamespace, testQueue, testRedis } from '../support/redis.js';
import { testId } from './support.js';

const redis = testRedis();
const namespace = testNamespace('ui-edge');
const FULL = 'edge-ui-full-0123456789';
const READ = 'edge-ui-read-0123456789';
const ORIGIN = 'http://edge.test';
let gateway: TestGateway;
let edge: TestEdge;

beforeAll(async () => {
  gateway = await startTestGateway({ allow: 'forklift' });
  edge = await startTestEdge({
    bindings: edgeBindings(gateway, {
      namespace,
      extra: { FORKLIFT_API_TOKENS: FULL, FORKLIFT_API_READONLY_TOKENS: READ },
    }),
  });
  await testQueue(redis, namespace).overview();
}, 60_000);

afterAll(async () => {
  await edge?.dispose();
  await gateway?.close();
  await deleteNamespace(redis, namespace);
  redis.disconnect();
});

async function login(token: string): Promise<string> {
  const res = await edge.fetch('/ui/login', {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(res.status).toBe(303);
  await res.text();
  return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

it('serves the login page with the CSP, and pages after login', async () => {
  const page = await edge.fetch('/ui/login');
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('data-testid="login-token"');
  expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");

  // '/ui/' is sent to '/ui', its query kept.
  const slash = await edge.fetch('/ui/?search=x', { redirect: 'manual' });
  expect(slash.status).toBe(301);
  expect(slash.headers.get('location')).toBe('/ui?search=x');
  await slash.text();

  const anonymous = await edge.fetch('/ui', { redirect: 'manual' });
  expect(anonymous.status).toBe(303);
  await anonymous.text();

  const cookie = await login(FULL);
  const overview = await edge.fetch('/ui', { headers: { cookie } });
  expect(overview.status).toBe(200);
  const html = await overview.text();
  expect(testId(html, 'count-normal')).toBe('0');
  expect(html).toContain('data-testid="sparkline"');
  for (const path of ['/ui/hosts', '/ui/tasks', '/ui/dead', '/ui/waiting/delayed']) {
    const res = await edge.fetch(path, { headers: { cookie } });
    expect(res.status, path).toBe(200);
    await res.text();
  }
});

it('a read-only token sees but cannot act', async () => {
  const cookie = await login(READ);
  const res = await edge.fetch('/ui/dead/retry', {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'ids=x',
  });
  expect(res.status).toBe(403);
  expect(testId(await res.text(), 'flash')).toMatch(/read-only/);
});

it('answers 503 naming FORKLIFT_API_TOKENS when the Worker has no token', async () => {
  const { workers, dispose } = await startTestEdges({ bare: {} });
  try {
    const res = await workers.bare.fetch('/ui/login');
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('FORKLIFT_API_TOKENS');
  } finally {
    await dispose();
  }
}, 30_000);
