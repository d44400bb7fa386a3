/**
 * `GET /v1/overview`: the queue at a glance, the document the dashboard's overview and hosts
 * pages render, in one Redis call (the snapshot script; see `QueueClient.overview`).
 */
import { Hono } from 'hono';
import type { AppEnv } from '../context.js';
import { ApiRoutes } from '../openapi.js';
import { overviewSchema } from '../operator-schemas.js';
import { errorResponses } from '../schemas.js';

/** The `/overview` route, to mount under `/v1`. */
export function overviewRoutes(): ApiRoutes {
  return new ApiRoutes(new Hono<AppEnv>()).add(
    {
      method: 'get',
      path: '/overview',
      operationId: 'getOverview',
      tags: ['operator'],
      summary: 'The queue at a glance: lanes, waits, totals, hosts, history',
      description:
        'One Redis call. Also samples the history of the totals when a sample is due (at most ' +
        'one per 10 s, the last 360 kept, expiring 2 h after the last sample).',
      secured: true,
      responses: {
        200: { description: 'The overview', schema: overviewSchema },
        ...errorResponses(401, 503),
      },
    },
    async (c) => c.json(await c.var.queue.overview(), 200),
  );
}
