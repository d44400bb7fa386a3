/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/**
 * The door of every dashboard route. `page` registers a GET that needs a session (none: 303 to
 * the login page, remembering where the visitor was going); `action` registers a POST that must
 * come from the dashboard itself (else 403), needs a session (else 401) and a full-access one
 * (else 403 "read-only"). Both hand the handler the setup, the session and the page context.
 */
import type { Context, Env, Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Child } from 'hono/jsx';
import type { DashboardQueue } from './dashboard-queue.js';
import { takeFlash } from './flash.js';
import { isSameOrigin, SESSION_COOKIE, type Session, verifySession } from './session.js';
import { type DashboardSetup, DashboardUnavailable, NO_TOKEN_MESSAGE } from './setup.js';
import { Layout, type PageContext, type Section } from './views/layout.js';
import { MessagePage } from './views/message.js';

/** What a signed-in handler gets. */
export interface Visit {
  setup: DashboardSetup;
  session: Session;
  page: PageContext;
  queue: DashboardQueue;
}

/** A form body: every field's values (repeated fields, `name[]` fields, as lists). */
export type Form = (name: string) => string[];

/** The largest form body an action reads. */
const MAX_FORM_BYTES = 256 * 1024;

/** The setup of a request; 503 (thrown) when no full-access token is configured. */
export function setupOf<E extends Env>(
  c: Context<E>,
  resolve: (c: Context<E>) => DashboardSetup,
): DashboardSetup {
  const setup = resolve(c);
  if (setup.tokens.full.length === 0) throw new DashboardUnavailable(NO_TOKEN_MESSAGE);
  return setup;
}

/** Reads a urlencoded or multipart form, refusing bodies over 256 KiB. */
export async function readForm(c: Context): Promise<Form | null> {
  const length = Number(c.req.header('content-length') ?? '0');
  if (length > MAX_FORM_BYTES) return null;
  const body = await c.req.parseBody({ all: true });
  return (name) =>
    [body[name], body[`${name}[]`]]
      .flat()
      .filter((value): value is string => typeof value === 'string');
}

/** A path inside the dashboard to go back to, or `fallback` (no open redirects). */
export function safeBack(base: string, value: string | undefined, fallback: string): string {
  if (!value || value.length > 2000) return fallback;
  const inside = value === base || value.startsWith(`${base}/`) || value.startsWith(`${base}?`);
  if (!inside || value.includes('//') || value.includes('\\')) return fallback;
  return value;
}

/** A small class with the dashboard's base path, its resolver and its route kinds. */
export class Guard<E extends Env> {
  constructor(
    readonly app: Hono<E>,
    readonly base: string,
    readonly resolve: (c: Context<E>) => DashboardSetup,
  ) {}

  /** The session of a request, or null. */
  async session(c: Context<E>, setup: DashboardSetup): Promise<Session | null> {
    return verifySession(getCookie(c, SESSION_COOKIE), setup.tokens);
  }

  private visit(c: Context<E>, setup: DashboardSetup, session: Session, flash = true): Visit {
    const url = new URL(c.req.url);
    return {
      setup,
      session,
      queue: setup.queue(),
      page: {
        base: this.base,
        role: session.role,
        queueName: setup.queueName,
        flash: flash && c.req.method === 'GET' ? takeFlash(c, this.base) : null,
        here: `${url.pathname}${url.search}`,
      },
    };
  }

  /**
   * Registers a GET that needs a session. A fragment (`{ flash: false }`) leaves the pending
   * flash message to the next page.
   */
  page(
    path: string,
    handler: (c: Context<E>, visit: Visit) => Promise<Response>,
    options: { flash?: boolean } = {},
  ): void {
    this.app.get(path, async (c) => {
      const setup = setupOf(c, this.resolve);
      const session = await this.session(c, setup);
      if (!session) {
        const url = new URL(c.req.url);
        const next = encodeURIComponent(`${url.pathname}${url.search}`);
        return c.redirect(`${this.base}/login?next=${next}`, 303);
      }
      return handler(c, this.visit(c, setup, session, options.flash ?? true));
    });
  }

  /** Registers a same-origin, full-access POST. */
  action(
    path: string,
    handler: (c: Context<E>, visit: Visit, form: Form) => Promise<Response>,
  ): void {
    this.app.post(path, async (c) => {
      const setup = setupOf(c, this.resolve);
      if (!isSameOrigin(c.req.raw)) return this.refuseCrossSite(c);
      const session = await this.session(c, setup);
      if (!session) {
        return this.message(c, 401, 'Not signed in', 'Your session has ended: log in again.');
      }
      if (session.role !== 'full') {
        return this.message(
          c,
          403,
          'Refused',
          'This session is read-only: a read-only token can look but not act.',
        );
      }
      const form = await readForm(c);
      if (!form) return this.message(c, 413, 'Too large', 'The form is too large.');
      return handler(c, this.visit(c, setup, session), form);
    });
  }

  /** The 403 answer to a POST from another site. */
  refuseCrossSite(c: Context<E>): Response | Promise<Response> {
    return this.message(
      c,
      403,
      'Refused',
      'Cross-site request refused: dashboard actions must come from its own pages.',
    );
  }

  /** A bare message page. */
  message(
    c: Context<E>,
    status: 401 | 403 | 404 | 413 | 400 | 500 | 503,
    title: string,
    text: string,
  ): Response | Promise<Response> {
    return c.html(
      <MessagePage
        base={this.base}
        title={title}
        text={text}
        link={{ href: `${this.base}`, label: 'Back to the dashboard' }}
      />,
      status,
    );
  }

  /** A signed-in page with its layout. */
  render(
    c: Context<E>,
    visit: Visit,
    section: Section,
    title: string,
    body: Child,
    status: 200 | 404 = 200,
  ): Response | Promise<Response> {
    return c.html(
      <Layout page={visit.page} section={section} title={title}>
        {body}
      </Layout>,
      status,
    );
  }
}
