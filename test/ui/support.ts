/**
 * Driving the dashboard sub-app in tests: a root app with the dashboard at `/ui` over a real
 * `QueueClient`, and a tiny browser (`UiClient`) that keeps cookies, sends same-origin headers
 * like a browser would and reads `data-testid` values out of the HTML. Nothing is mocked.
 */
import { Hono } from 'hono';
import type { QueueClient } from '../../shared/queue-client.js';
import { createDashboard, type TokenLists } from '../../shared/ui/index.js';

/** The origin the tests' requests are made to. */
export const ORIGIN = 'http://localhost';
/** Tokens of the test dashboards. */
export const FULL_TOKEN = 'ui-full-token-0123456789';
export const READ_TOKEN = 'ui-read-token-0123456789';

/** A root app with the dashboard mounted at `/ui`. */
export function dashboardApp(
  queue: QueueClient,
  tokens: TokenLists = { full: [FULL_TOKEN], read: [READ_TOKEN] },
): Hono {
  const app = new Hono();
  app.route(
    '/ui',
    createDashboard(() => ({ tokens, queueName: queue.queue, queue: () => queue })),
  );
  return app;
}

/** What a request answered, with its body read. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
}

/** The text content of every element with `data-testid="<id>"` (tags stripped, entities kept). */
export function testIds(html: string, id: string): string[] {
  const pattern = new RegExp(`<(\\w+)[^>]*data-testid="${id}"[^>]*>([\\s\\S]*?)</\\1>`, 'g');
  return [...html.matchAll(pattern)].map((m) => (m[2] ?? '').replace(/<[^>]+>/g, '').trim());
}

/** The first `data-testid="<id>"` text, or undefined. */
export function testId(html: string, id: string): string | undefined {
  return testIds(html, id)[0];
}

/** A cookie-keeping client of one app. */
export class UiClient {
  readonly cookies = new Map<string, string>();

  constructor(readonly app: Hono) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Sends a request; keeps the cookies it sets. */
  async request(path: string, init: RequestInit = {}): Promise<Answer> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0 && !headers.has('cookie')) headers.set('cookie', this.cookieHeader());
    const res = await this.app.request(`${ORIGIN}${path}`, { ...init, headers });
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return {
      status: res.status,
      headers: res.headers,
      text: await res.text(),
      location: res.headers.get('location'),
    };
  }

  /** GET `path`. */
  get(path: string): Promise<Answer> {
    return this.request(path);
  }

  /** POST a form to `path`, same-origin unless `headers` say otherwise. */
  post(
    path: string,
    fields: Record<string, string | string[]> = {},
    headers: Record<string, string> = { origin: ORIGIN },
  ): Promise<Answer> {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) {
      for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
    }
    return this.request(path, {
      method: 'POST',
      body: body.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });
  }

  /** Logs in with `token`; throws unless the dashboard accepted it. */
  async login(token: string): Promise<this> {
    const answer = await this.post('/ui/login', { token });
    if (answer.status !== 303) throw new Error(`login answered ${answer.status}`);
    return this;
  }
}
