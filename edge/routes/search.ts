/**
 * `GET /v1/tasks`: task search, newest first, by type, state and enqueue time through the
 * bounded search index, paged with a cursor; or, with `key`, the task an idempotency key names.
 */
import { Hono } from 'hono';
import type { TaskPage } from '../../shared/index.js';
import type { AppEnv } from '../context.js';
import { ApiError } from '../errors.js';
import { ApiRoutes } from '../openapi.js';
import { searchQuerySchema, taskPageSchema } from '../operator-schemas.js';
import { errorResponses } from '../schemas.js';
import { countOf, msOf, parseQuery } from './parse.js';

/** The `GET /tasks` route, to mount under `/v1`. */
export function searchRoutes(): ApiRoutes {
  return new ApiRoutes(new Hono<AppEnv>()).add(
    {
      method: 'get',
      path: '/tasks',
      operationId: 'searchTasks',
      tags: ['operator'],
      summary: 'Search tasks (newest first), or find one by idempotency key',
      description:
        'Filters combine with AND. The search walks an index of recently enqueued tasks (the ' +
        'newest 100,000 at most, entries leaving as their records expire) and examines at most ' +
        '1,000 entries per call: a page may be short, or empty, with a `cursor` to go on. ' +
        'Times are ms since the epoch or ISO 8601. With `key`, the answer holds the one task ' +
        'the idempotency key names (or none) and `cursor` is null.',
      secured: true,
      query: searchQuerySchema,
      responses: {
        200: { description: 'A page of tasks', schema: taskPageSchema },
        ...errorResponses(400, 401, 503),
      },
    },
    async (c) => {
      const q = parseQuery(searchQuerySchema, c);
      if (q.key !== undefined) {
        const others = (['type', 'state', 'from', 'to', 'cursor', 'limit'] as const).filter(
          (name) => q[name] !== undefined,
        );
        if (others.length > 0) {
          throw new ApiError(400, 'invalid_request', `key: cannot be combined with ${others[0]}`, {
            details: {
              issues: others.map((name) => ({
                path: 'key',
                message: `cannot be combined with ${name}`,
              })),
            },
          });
        }
        const task = await c.var.queue.findByIdempotencyKey(q.key);
        const page: TaskPage = { tasks: task ? [task] : [], cursor: null };
        return c.json(page, 200);
      }
      const page = await c.var.queue.searchTasks({
        ...(q.type === undefined ? {} : { type: q.type }),
        ...(q.state === undefined ? {} : { state: q.state }),
        ...(q.from === undefined ? {} : { from: msOf(q.from) }),
        ...(q.to === undefined ? {} : { to: msOf(q.to) }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
        limit: countOf(q.limit, 50),
      });
      return c.json(page, 200);
    },
  );
}
