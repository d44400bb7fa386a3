/** `GET /v1/stats`: the queue's counters, the same document as the CLI's `stats --json`. */
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../context.js';
import { errorResponses, statsSchema } from '../schemas.js';

const statsRoute = createRoute({
  method: 'get',
  path: '/stats',
  tags: ['queue'],
  summary: 'Queue counters',
  description:
    'Lane lengths, delayed/active/dead set sizes, and running totals of succeeded, failed and ' +
    'canceled tasks.',
  security: [{ bearerAuth: [] }],
  responses: {
    200: { description: 'The counters', content: { 'application/json': { schema: statsSchema } } },
    ...errorResponses(401, 503),
  },
});

/** The `/stats` route, to mount under `/v1`. */
export function statsRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.openapi(statsRoute, async (c) => c.json(await c.var.queue.stats(), 200));
  return app;
}
