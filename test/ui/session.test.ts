/**
 * The dashboard's door: login and logout, redirects without a session, forged and expired
 * cookies, cross-site POSTs, read-only sessions on every action, and the security headers.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { QueueClient } from '../../shared/queue-client.js';
import { createDashboard, SESSION_COOKIE, SESSION_TTL_MS } from '../../shared/ui/index.js';
import { ioredisTransport } from '../../worker-host/redis/ioredis-transport.js';
import { deleteNamespace, testNamespace, testQueue, testRedis } from '../support/redis.js';
import { dashboardApp, FULL_TOKEN, ORIGIN, READ_TOKEN, testId, UiClient } from './support.js';

const redis = testRedis();
const namespace = testNamespace('ui-session');
const queue = testQueue(redis, namespace);
const app = dashboardApp(queue);

afterAll(async () => {
  await deleteNamespace(redis, namespace);
  redis.disconnect();
});

const PAGES = [
  '/ui',
  '/ui/hosts',
  '/ui/tasks',
  '/ui/tasks/x',
  '/ui/dead',
  '/ui/waiting/delayed',
  '/ui/fragments/overview',
];
const ACTIONS: [string, Record<string, string>][] = [
  ['/ui/tasks/x/cancel', {}],
  ['/ui/tasks/x/run-now', {}],
  ['/ui/dead/retry', { ids: 'x' }],
  ['/ui/dead/delete', { ids: 'x' }],
  ['/ui/dead/retry-matching', { confirm: 'yes' }],
  ['/ui/dead/delete-matching', { confirm: 'yes' }],
];

describe('without a session', () => {
  it('serves the login form', async () => {
    const answer = await new UiClient(app).get('/ui/login');
    expect(answer.status).toBe(200);
    expect(answer.text).toMatch(/^<!doctype html>/);
    expect(answer.text).toContain('data-testid="login-token"');
    expect(answer.text).toContain('data-testid="login-submit"');
  });

  it.each(PAGES)(
    'GET %s redirects to the login page, remembering where it was going',
    async (path) => {
      const answer = await new UiClient(app).get(path);
      expect(answer.status).toBe(303);
      expect(answer.location).toBe(`/ui/login?next=${encodeURIComponent(path)}`);
    },
  );

  it.each(ACTIONS)('POST %s is refused with 401', async (path, fields) => {
    const answer = await new UiClient(app).post(path, fields);
    expect(answer.status).toBe(401);
  });
});

describe('login', () => {
  it('a full token gets an HttpOnly, Secure, SameSite=Strict session cookie for /ui', async () => {
    const client = new UiClient(app);
    const answer = await client.post('/ui/login', { token: FULL_TOKEN, next: '/ui/dead' });
    expect(answer.status).toBe(303);
    expect(answer.location).toBe('/ui/dead');
    const cookie = answer.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\/ui(;|$)/);
    expect(cookie).not.toContain(FULL_TOKEN);
    expect((await client.get('/ui')).status).toBe(200);
  });

  it('a wrong token gets 401 with the form and an error, and no cookie', async () => {
    const client = new UiClient(app);
    const answer = await client.post('/ui/login', { token: 'nope' });
    expect(answer.status).toBe(401);
    expect(testId(answer.text, 'login-error')).toBeTruthy();
    expect(answer.text).toContain('data-testid="login-token"');
    expect(client.cookies.has(SESSION_COOKIE)).toBe(false);
  });

  it('next must stay inside the dashboard (no open redirect)', async () => {
    for (const next of ['https://evil.example/', '//evil.example/ui', '/uix', '/ui/../x\\']) {
      const answer = await new UiClient(app).post('/ui/login', { token: FULL_TOKEN, next });
      expect(answer.location, next).toBe('/ui');
    }
  });

  it('logout clears the session', async () => {
    const client = await new UiClient(app).login(FULL_TOKEN);
    const answer = await client.post('/ui/logout');
    expect(answer.status).toBe(303);
    expect(answer.location).toBe('/ui/login');
    expect(client.cookies.has(SESSION_COOKIE)).toBe(false);
    expect((await client.get('/ui')).status).toBe(303);
  });

  it('a cross-site login or logout is refused', async () => {
    const client = new UiClient(app);
    const login = await client.post(
      '/ui/login',
      { token: FULL_TOKEN },
      { origin: 'https://evil.example' },
    );
    expect(login.status).toBe(403);
    expect(client.cookies.has(SESSION_COOKIE)).toBe(false);
  });
});

describe('cookies that prove nothing', () => {
  const forge = async (value: string) => {
    const client = new UiClient(app);
    client.cookies.set(SESSION_COOKIE, value);
    return (await client.get('/ui')).status;
  };

  it('refuses a forged, altered or expired cookie', async () => {
    const client = await new UiClient(app).login(READ_TOKEN);
    const real = client.cookies.get(SESSION_COOKIE) as string;
    expect(real).toMatch(/^readonly\./);
    expect(await forge(real)).toBe(200);
    const [, expires, mac] = real.split('.');
    // The role cannot be raised, nor the expiry moved, without the key.
    expect(await forge(`full.${expires}.${mac}`)).toBe(303);
    expect(await forge(`readonly.${Number(expires) + 1}.${mac}`)).toBe(303);
    expect(await forge(`readonly.${expires}.${'A'.repeat(43)}`)).toBe(303);
    expect(await forge('garbage')).toBe(303);
  });

  it('refuses a session signed by a token that is no longer configured', async () => {
    const client = await new UiClient(app).login(FULL_TOKEN);
    const rotated = dashboardApp(queue, { full: ['another-token'], read: [] });
    const other = new UiClient(rotated);
    other.cookies.set(SESSION_COOKIE, client.cookies.get(SESSION_COOKIE) as string);
    expect((await other.get('/ui')).status).toBe(303);
  });

  it('refuses an expired session', async () => {
    const realNow = Date.now;
    const client = await new UiClient(app).login(FULL_TOKEN);
    try {
      Date.now = () => realNow() + SESSION_TTL_MS + 1000;
      expect((await client.get('/ui')).status).toBe(303);
    } finally {
      Date.now = realNow;
    }
    expect((await client.get('/ui')).status).toBe(200);
  });
});

describe('actions', () => {
  it.each(ACTIONS)('POST %s from another site is refused with 403', async (path, fields) => {
    const client = await new UiClient(app).login(FULL_TOKEN);
    for (const headers of [
      { origin: 'https://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      {},
    ]) {
      const answer = await client.post(path, fields, headers as Record<string, string>);
      expect(answer.status, JSON.stringify(headers)).toBe(403);
    }
  });

  it('Sec-Fetch-Site: same-origin is enough without an Origin header', async () => {
    const client = await new UiClient(app).login(FULL_TOKEN);
    const answer = await client.post('/ui/tasks/x/cancel', {}, { 'sec-fetch-site': 'same-origin' });
    expect(answer.status).toBe(303);
  });

  it.each(ACTIONS)(
    'POST %s with a read-only session is refused with 403 read-only',
    async (path, fields) => {
      const client = await new UiClient(app).login(READ_TOKEN);
      const answer = await client.post(path, fields);
      expect(answer.status).toBe(403);
      expect(testId(answer.text, 'flash')).toMatch(/read-only/);
    },
  );
});

describe('headers', () => {
  it('every answer carries a strict CSP, nosniff, no referrer; pages are not cached', async () => {
    const client = await new UiClient(app).login(FULL_TOKEN);
    for (const path of [
      '/ui/login',
      '/ui',
      '/ui/assets/app.css',
      '/ui/assets/app.js',
      '/ui/nope',
    ]) {
      const answer = await client.get(path);
      const csp = answer.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("form-action 'self'");
      expect(csp).toContain("base-uri 'none'");
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
    }
    expect((await client.get('/ui')).headers.get('cache-control')).toBe('no-store');
    expect((await client.get('/ui/login')).headers.get('cache-control')).toBe('no-store');
  });

  it('pages hold no inline script or style', async () => {
    const client = await new UiClient(app).login(FULL_TOKEN);
    for (const path of [
      '/ui/login',
      '/ui',
      '/ui/hosts',
      '/ui/tasks',
      '/ui/dead',
      '/ui/waiting/normal',
    ]) {
      const html = (await client.get(path)).text;
      expect(html, path).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html, path).not.toMatch(/\sstyle=|<style/);
      expect(html, path).not.toMatch(/\son\w+=/);
    }
  });
});

describe('configuration', () => {
  it('answers 503 naming FORKLIFT_API_TOKENS when no full token is configured', async () => {
    const app = createDashboard(() => ({
      tokens: { full: [], read: [READ_TOKEN] },
      queueName: 'default',
      queue: () => queue,
    }));
    const answer = await app.request(`${ORIGIN}/login`);
    expect(answer.status).toBe(503);
    expect(await answer.text()).toContain('FORKLIFT_API_TOKENS');
  });

  it('answers 503 when Redis does not answer', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    down.on('error', () => {});
    const app = dashboardApp(new QueueClient(ioredisTransport(down)));
    const client = await new UiClient(app).login(FULL_TOKEN);
    const errors = console.error;
    console.error = () => {};
    try {
      const answer = await client.get('/ui');
      expect(answer.status).toBe(503);
      expect(testId(answer.text, 'flash')).toMatch(/Redis/);
    } finally {
      console.error = errors;
      down.disconnect();
    }
  });
});
