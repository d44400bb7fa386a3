/**
 * Who may call the API, and what happens when the Worker is not (fully) configured. The Workers
 * (one per configuration, all in one workerd) run the real bundle; requests that pass
 * authentication reach the real gateway and Redis.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type EdgeClient, edgeBindings, startTestEdges, TEST_API_TOKEN } from '../support/edge.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { testNamespace } from '../support/redis.js';

const namespace = testNamespace('edge-auth');

/** FORKLIFT_API_TOKENS values under which the API refuses to serve. */
const NO_TOKENS = [
  ['unset', undefined],
  ['only commas and spaces', ' , ,'],
] as const;

/**
 * Bad settings, two Workers' worth (starting a Worker costs about a second): each variable,
 * its bad value, and what the problem says.
 */
const BAD_SETTINGS = [
  {
    UPSTASH_REDIS_REST_URL: [undefined, 'is not set'],
    UPSTASH_REDIS_REST_TOKEN: ['  ', 'is empty'],
    FORKLIFT_QUEUE: ['no spaces allowed', 'must be 1-64 characters'],
    FORKLIFT_NAMESPACE: ['a/b', 'must be 1-64 characters'],
    FORKLIFT_MAX_TASK_BYTES: ['lots', 'must be a whole number'],
    FORKLIFT_MAX_REQUEST_BYTES: ['0', 'Too small'],
    FORKLIFT_STORE_TIMEOUT_MS: ['-5', 'must be a whole number'],
  },
  {
    UPSTASH_REDIS_REST_URL: ['redis://127.0.0.1:6379', 'must be an http(s) URL'],
    UPSTASH_REDIS_REST_TOKEN: [undefined, 'is not set'],
  },
] as const satisfies readonly Record<string, readonly [string | undefined, string]>[];

let gateway: TestGateway;
let workers: Record<string, EdgeClient>;
let dispose: (() => Promise<void>) | undefined;

function bindings(overrides: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries({
    ...edgeBindings(gateway, { namespace }),
    ...overrides,
  })) {
    if (value !== undefined) out[name] = value;
  }
  return out;
}

beforeAll(async () => {
  gateway = await startTestGateway();
  const configs: Record<string, Record<string, string>> = {
    tokens: bindings({ FORKLIFT_API_TOKENS: `first-token-aaaaaaaa,${TEST_API_TOKEN} , ,` }),
  };
  NO_TOKENS.forEach(([, value], i) => {
    configs[`no-tokens-${i}`] = bindings({ FORKLIFT_API_TOKENS: value });
  });
  BAD_SETTINGS.forEach((settings, i) => {
    configs[`bad-${i}`] = bindings(
      Object.fromEntries(Object.entries(settings).map(([name, [value]]) => [name, value])),
    );
  });
  ({ workers, dispose } = await startTestEdges(configs));
});
afterAll(async () => {
  await dispose?.();
  await gateway?.close();
});

/** The Worker started for `name`. */
function worker(name: string): EdgeClient {
  const found = workers[name];
  if (!found) throw new Error(`no worker ${name}`);
  return found;
}

describe('bearer tokens', () => {
  const edge = { api: (...args: Parameters<EdgeClient['api']>) => worker('tokens').api(...args) };

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
  test.each(NO_TOKENS.map(([name], i) => [name, i]))(
    'FORKLIFT_API_TOKENS %s: the API refuses to serve (503), with or without a token',
    async (_name, i) => {
      const edge = worker(`no-tokens-${i}`);
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

  test.each(
    BAD_SETTINGS.flatMap((settings, i) =>
      Object.entries(settings).map(([name, [value, reason]]) => [name, value, reason, i] as const),
    ),
  )(
    '%s = %j: 503 not_configured naming it, only to authenticated callers',
    async (name, value, reason, i) => {
      const edge = worker(`bad-${i}`);
      const anonymous = await edge.api('GET', '/v1/stats', { token: null });
      expect(anonymous.status).toBe(401);
      const res = await edge.api('POST', '/v1/tasks', {
        body: { type: 'square', payload: { x: 1 } },
      });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('not_configured');
      expect(res.body.error.message).toContain(name);
      const problem = (res.body.error.details.problems as string[]).find((p) =>
        p.startsWith(`${name} `),
      );
      expect(problem, `${name}=${JSON.stringify(value)}`).toContain(reason);
    },
  );
});
