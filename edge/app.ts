/**
 * The edge producer: a Hono app that authenticates callers, validates tasks with the shared
 * rules, and writes them to Redis through @upstash/redis with the engine's scripts.
 *
 * | route                    | auth | answer                                             |
 * |--------------------------|------|----------------------------------------------------|
 * | `GET /healthz`           | no   | 200 `{ status: 'ok' }` (does not touch Redis)      |
 * | `GET /openapi.json`      | no   | the OpenAPI 3.1 document, built from `schemas.ts`  |
 * | `POST /v1/tasks`         | yes  | 202 `{ id, state, duplicate }`                     |
 * | `POST /v1/tasks/batch`   | yes  | 202 `{ tasks: [{ id, state, duplicate }] }`        |
 * | `GET /v1/tasks/{id}`     | yes  | 200 the task view, 404                             |
 * | `DELETE /v1/tasks/{id}`  | yes  | 200 `{ id, state: 'canceled' }`, 404, 409          |
 * | `GET /v1/stats`          | yes  | 200 the queue counters                             |
 * | `GET /v1/overview`       | yes  | 200 lanes, waits, totals, hosts, history (1 call)  |
 * | `GET /v1/tasks`          | yes  | 200 `{ tasks, cursor }`: search, or `?key=` lookup |
 * | `GET /v1/waiting/{list}` | yes  | 200 `{ total, tasks }` of a lane or `delayed`      |
 * | `POST /v1/tasks/{id}/run-now` | full | 200 `{ id, state: 'queued' }`, 404, 409     |
 * | `GET /v1/dead`           | yes  | 200 `{ total, tasks }`, newest first, filtered     |
 * | `POST /v1/dead/retry`, `/delete` | full | 200 `{ retried or deleted, notDead }`      |
 * | `POST /v1/dead/retry-matching`, `/delete-matching` | full | 200 `{ processed, done, cursor }` |
 * | `/ui/*`                  | form | the dashboard (shared/ui), its own session cookie  |
 *
 * Every `/v1/*` request passes `authenticate` (tokens, then config; a read-only token may only
 * GET: 403 otherwise) and `limitBody` before its handler reads anything; every error leaves through `onError` as `{ error: { code, … } }`.
 */
import { Hono } from 'hono';
import { mountDashboard } from '../shared/ui/index.js';
import { authenticate } from './auth.js';
import { limitBody } from './body.js';
import type { AppEnv } from './context.js';
import { edgeDashboard } from './dashboard.js';
import { ApiError, errorBody, logServerError, toApiError } from './errors.js';
import { ApiRoutes, openApiDocument } from './openapi.js';
import { deadRoutes } from './routes/dead.js';
import { overviewRoutes } from './routes/overview.js';
import { runNowRoutes } from './routes/run-now.js';
import { searchRoutes } from './routes/search.js';
import { statsRoutes } from './routes/stats.js';
import { taskRoutes } from './routes/tasks.js';
import { waitingRoutes } from './routes/waiting.js';
import { healthSchema } from './schemas.js';

/** The API version prefix. */
export const API_PREFIX = '/v1';

const INFO = {
  title: 'Forklift edge API',
  version: '1.0.0',
  description:
    'Enqueue and inspect Forklift tasks. Every error is `{ error: { code, message, details? } }`.',
};

/**
 * Builds the app. The Worker's entry point (`index.ts`) exports one instance.
 *
 * @example
 * const app = createApp();
 * const res = await app.request('/healthz');
 */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.onError((error, c) => {
    const apiError = toApiError(error);
    if (apiError.status >= 500 && apiError.code !== 'not_configured') {
      logServerError(apiError, c.req.raw);
    }
    return c.json(errorBody(apiError), apiError.status, apiError.headers);
  });
  app.notFound((c) => {
    const error = new ApiError(404, 'not_found', `No route ${c.req.method} ${c.req.path}`);
    return c.json(errorBody(error), 404);
  });

  const publicRoutes = new ApiRoutes(app).add(
    {
      method: 'get',
      path: '/healthz',
      operationId: 'health',
      tags: ['meta'],
      summary: 'Liveness (public; does not touch Redis)',
      secured: false,
      responses: { 200: { description: 'Alive', schema: healthSchema } },
    },
    (c) => c.json({ status: 'ok' as const }, 200),
  );

  mountDashboard(app, edgeDashboard(), '/ui');

  app.use(`${API_PREFIX}/*`, authenticate, limitBody);
  const versioned = [
    taskRoutes(),
    statsRoutes(),
    overviewRoutes(),
    searchRoutes(),
    waitingRoutes(),
    deadRoutes(),
    runNowRoutes(),
  ];
  for (const routes of versioned) app.route(API_PREFIX, routes.app);

  let document: Record<string, unknown> | undefined;
  app.get('/openapi.json', (c) => {
    document ??= openApiDocument(INFO, [
      { prefix: '', operations: publicRoutes.operations },
      ...versioned.map((routes) => ({ prefix: API_PREFIX, operations: routes.operations })),
    ]);
    return c.json(document);
  });

  return app;
}
