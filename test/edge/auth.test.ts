/**
 * Who may call the API, and what happens when the Worker is not (fully) configured. The Worker
 * runs in workerd; requests that pass authentication reach the real gateway and Redis.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { edgeBindings, startTestEdge, TEST_API_TOKEN, type TestEdge } from '../support/edge.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { testNamespace } from '../support/redis.js';

const namespace = testNamespace('edge-auth');
let gateway: TestGateway;
const edges: TestEdge[] = [];

async function edgeWith(overrides: Record<string, string | undefined>): Promise<TestEdge> {
  const bindings: Record<string, string> = {};
  for (const [name, value] of Object.entries({
    ...edgeBindings(gateway, { namespace }),
    ...overrides,
  })) {
    if (value !== undefined) bindings[name] = value;
  }
  const edge = await startTestEdge({ bindings });
  edges.push(edge);
  return edge;
}

beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => {
  await Promise.all(edges.map((edge) => edge.dispose()));
  await gateway?.close();
});

describe('bearer tokens', () => {
  let edge: TestEdge;
  beforeAll(async () => {
    edge = await edgeWith({ FORKLIFT_API_TOKENS: `first-token-aaaaaaaa,${TEST_API_TOKEN} , ,` });
  });

  test('a request without a token gets 401 and a WWW-Authenticate challenge', async () => {
    const res = await edge.api('GET', '/v1/stats', { token: null });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error: { code: 'unauthorized', message: expect.stringContaining('Bearer') },
    });
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="forklift"');
  });

  test.each([
    ['an unknown token', { authorization: 'Bearer not-a-token' }],
    ['a prefix of a valid token', { authorization: `Bearer ${TEST_API_TOKEN.slice(0, -1)}` }],
    ['a valid token plus a character', { authorization: `Bearer ${TEST_API_TOKEN}x` }],
    ['another scheme', { authorization: `Basic ${TEST_API_TOKEN}` }],
    ['an empty bearer', { authorization: 'Bearer ' }],
  ])('%s gets 401', async (_name, headers) => {
    const res = await edge.api('GET', '/v1/stats', { token: null, headers });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });

  test('every configured token is accepted, before any body is read', async () => {
    for (const token of ['first-token-aaaaaaaa', TEST_API_TOKEN]) {
      const res = await edge.api('GET', '/v1/stats', { token });
      expect(res.status).toBe(200);
      expect(res.body.queue).toBe('default');
    }
    // A bad token is refused before the (invalid) body is looked at.
    const res = await edge.api('POST', '/v1/tasks', { token: 'nope', body: '{not json' });
    expect(res.status).toBe(401);
  });

  test('the scheme is case-insensitive', async () => {
    const res = await edge.api('GET', '/v1/stats', {
      token: null,
      headers: { authorization: `bearer ${TEST_API_TOKEN}` },
    });
    expect(res.status).toBe(200);
  });

  test('/healthz and /openapi.json are public', async () => {
    const health = await edge.api('GET', '/healthz', { token: null });
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
    const doc = await edge.api('GET', '/openapi.json', { token: null });
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
  });

  test('an unknown route answers 404 JSON (after authentication)', async () => {
    expect((await edge.api('GET', '/v1/nothing-here', { token: null })).status).toBe(401);
    const res = await edge.api('GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    const outside = await edge.api('GET', '/elsewhere', { token: null });
    expect(outside).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });
});

describe('configuration', () => {
  test.each([
    ['unset', undefined],
    ['empty', ''],
    ['only commas and spaces', ' , ,'],
  ])(
    'FORKLIFT_API_TOKENS %s: the API refuses to serve (503), with or without a token',
    async (_name, value) => {
      const edge = await edgeWith({ FORKLIFT_API_TOKENS: value });
      for (const token of [null, TEST_API_TOKEN]) {
        const res = await edge.api('GET', '/v1/stats', { token });
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe('not_configured');
        expect(res.body.error.message).toContain('FORKLIFT_API_TOKENS');
      }
      const post = await edge.api('POST', '/v1/tasks', {
        token: null,
        body: { type: 'square', payload: { x: 1 } },
      });
      expect(post.status).toBe(503);
      expect((await edge.api('GET', '/healthz', { token: null })).status).toBe(200);
    },
  );

  test.each([
    ['UPSTASH_REDIS_REST_URL', undefined, 'is not set'],
    ['UPSTASH_REDIS_REST_URL', 'redis://127.0.0.1:6379', 'must be an http(s) URL'],
    ['UPSTASH_REDIS_REST_TOKEN', undefined, 'is not set'],
    ['UPSTASH_REDIS_REST_TOKEN', '  ', 'is empty'],
    ['FORKLIFT_QUEUE', 'no spaces allowed', 'must be 1-64 characters'],
    ['FORKLIFT_NAMESPACE', 'a/b', 'must be 1-64 characters'],
    ['FORKLIFT_MAX_TASK_BYTES', 'lots', 'must be a whole number'],
    ['FORKLIFT_MAX_REQUEST_BYTES', '0', 'Too small'],
    ['FORKLIFT_STORE_TIMEOUT_MS', '-5', 'must be a whole number'],
  ])(
    '%s = %j: 503 not_configured naming it, only to authenticated callers',
    async (name, value, reason) => {
      const edge = await edgeWith({ [name]: value });
      const anonymous = await edge.api('GET', '/v1/stats', { token: null });
      expect(anonymous.status).toBe(401);
      const res = await edge.api('POST', '/v1/tasks', {
        body: { type: 'square', payload: { x: 1 } },
      });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('not_configured');
      expect(res.body.error.message).toContain(name);
      expect(res.body.error.details.problems).toEqual([expect.stringContaining(reason)]);
    },
  );
});
