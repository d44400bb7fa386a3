/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/**
 * The dashboard: a Hono sub-app, written once and mounted twice, under `/ui` by the edge Worker
 * (over @upstash/redis) and by `forklift dashboard` / `forklift dev` on Node (over ioredis).
 * Only Web APIs and hono: it runs in both.
 *
 * | route                                 | what                                              |
 * |---------------------------------------|---------------------------------------------------|
 * | `GET /login`, `POST /login`, `POST /logout` | the session (see session.ts)                |
 * | `GET /`, `GET /fragments/overview`    | overview, and the fragment its live refresh reads |
 * | `GET /hosts`                          | worker hosts and their slots                      |
 * | `GET /tasks`, `GET /tasks/:id`        | search, one task                                  |
 * | `POST /tasks/:id/cancel`, `/run-now`  | actions on one task                               |
 * | `GET /dead`, `POST /dead/*`           | dead letters: retry, delete, in bulk              |
 * | `GET /waiting/:list`                  | high, normal, low and delayed lists               |
 * | `GET /assets/app.css`, `/app.js`      | the stylesheet and the script (public)            |
 */
import { type Env, Hono } from 'hono';
import { StoreUnavailableError, ValidationError } from '../errors.js';
import { Guard } from './guard.js';
import { assetRoutes } from './routes/asset-routes.js';
import { deadRoutes } from './routes/dead-routes.js';
import { loginRoutes } from './routes/login-routes.js';
import { overviewRoutes } from './routes/overview-routes.js';
import { taskRoutes } from './routes/task-routes.js';
import { waitingRoutes } from './routes/waiting-routes.js';
import { securityHeaders } from './security-headers.js';
import { DashboardUnavailable, type ResolveDashboard } from './setup.js';
import { MessagePage } from './views/message.js';

/** Errors that mean the store did not answer (the edge's client, or ioredis on Node). */
function storeDown(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  const message = error instanceof Error ? error.message : '';
  return /ECONNREFUSED|Connection is closed|max retries|ETIMEDOUT|ECONNRESET|fetch failed/i.test(
    message,
  );
}

/** Options of `createDashboard`. */
export interface DashboardOptions {
  /** The path the sub-app is mounted at (redirects and the cookie's Path use it). @default '/ui' */
  base?: string;
}

/**
 * Builds the dashboard sub-app; mount it at `options.base`.
 *
 * @example
 * app.route('/ui', createDashboard((c) => ({
 *   tokens: { full: ['t1'], read: [] }, queueName: 'default', queue: () => client,
 * })));
 */
export function createDashboard<E extends Env = Env>(
  resolve: ResolveDashboard<E>,
  options: DashboardOptions = {},
): Hono<E> {
  const base = options.base ?? '/ui';
  const app = new Hono<E>();
  const guard = new Guard(app, base, resolve);

  app.use('*', securityHeaders);
  app.onError((error, c) => {
    const [status, title, text] =
      error instanceof DashboardUnavailable
        ? ([503, 'Not configured', error.message] as const)
        : error instanceof ValidationError
          ? ([400, 'Bad request', error.message] as const)
          : storeDown(error)
            ? ([503, 'Redis unavailable', 'Redis does not answer; try again shortly.'] as const)
            : ([500, 'Error', 'Something failed; see the server log.'] as const);
    if (status !== 400 && !(error instanceof DashboardUnavailable)) {
      console.error(`dashboard: ${c.req.method} ${new URL(c.req.url).pathname}:`, error);
    }
    return c.html(
      <MessagePage base={base} title={title} text={text} link={{ href: base, label: 'Back' }} />,
      status,
      status === 503 ? { 'Retry-After': '60' } : {},
    );
  });

  assetRoutes(app);
  loginRoutes(guard);
  overviewRoutes(guard);
  taskRoutes(guard);
  deadRoutes(guard);
  waitingRoutes(guard);
  return app;
}

/**
 * Mounts a dashboard on `app` at `base` (as `createDashboard`'s `base` option says), and sends
 * `<base>/` to `<base>` with a 301: the sub-app's pages match the path without the slash.
 */
export function mountDashboard<E extends Env>(
  app: Hono<E>,
  dashboard: Hono<E>,
  base = '/ui',
): void {
  app.get(`${base}/`, (c) => c.redirect(`${base}${new URL(c.req.url).search}`, 301));
  app.route(base, dashboard);
}
