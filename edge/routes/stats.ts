/** `GET /v1/stats`: the queue's counters, the same document as the CLI's `stats --json`. */
import { Hono } from 'hono';
import type { QueueStats } from '../../shared/index.js';
import type { AppEnv } from '../context.js';
import { ApiRoutes } from '../openapi.js';
import { errorResponses, statsSchema } from '../schemas.js';

/** The `/stats` route, to mount under `/v1`. */
export function statsRoutes(): ApiRoutes {
  return new ApiRoutes(new Hono<AppEnv>()).add(
    {
      method: 'get',
      path: '/stats',
      operationId: 'getStats',
      tags: ['queue'],
      summary: 'Queue counters',
      secured: true,
      responses: {
        200: { description: 'The counters', schema: statsSchema },
        ...errorResponses(401, 503),
      },
    },
    async (c) => {
      const stats: QueueStats = await c.var.queue.stats();
      return c.json(stats, 200);
    },
  );
}
