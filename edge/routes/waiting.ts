/** `GET /v1/waiting/{list}`: a page of a lane (FIFO) or of the delayed set (by due time). */
import { Hono } from 'hono';
import type { AppEnv } from '../context.js';
import { ApiRoutes } from '../openapi.js';
import { listPageSchema, waitingParamsSchema, waitingQuerySchema } from '../operator-schemas.js';
import { errorResponses } from '../schemas.js';
import { countOf, parseQuery, parseWith } from './parse.js';

/** The `/waiting/{list}` route, to mount under `/v1`. */
export function waitingRoutes(): ApiRoutes {
  return new ApiRoutes(new Hono<AppEnv>()).add(
    {
      method: 'get',
      path: '/waiting/{list}',
      operationId: 'listWaiting',
      tags: ['operator'],
      summary: 'A page of a lane or of the delayed set',
      description:
        'A lane in FIFO order (next to run first), or `delayed` by due time (soonest first, ' +
        'failed tasks awaiting their retry included). `total` is the list’s length.',
      secured: true,
      params: waitingParamsSchema,
      query: waitingQuerySchema,
      responses: {
        200: { description: 'A page of the list', schema: listPageSchema },
        ...errorResponses(400, 401, 503),
      },
    },
    async (c) => {
      const { list } = parseWith(waitingParamsSchema, c.req.param());
      const q = parseQuery(waitingQuerySchema, c);
      const page = await c.var.queue.listWaiting(list, countOf(q.offset, 0), countOf(q.count, 50));
      return c.json(page, 200);
    },
  );
}
