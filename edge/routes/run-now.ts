/**
 * `POST /v1/tasks/{id}/run-now`: a delayed task (or a failed one awaiting its retry) goes to the
 * tail of its lane now. Answers like `DELETE /v1/tasks/{id}`: 200, 404, or 409 with the state.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../context.js';
import { ApiError } from '../errors.js';
import { ApiRoutes } from '../openapi.js';
import { runNowResultSchema } from '../operator-schemas.js';
import { errorResponses, taskIdParamsSchema } from '../schemas.js';
import { parseWith } from './parse.js';

/** The `/tasks/{id}/run-now` route, to mount under `/v1`. */
export function runNowRoutes(): ApiRoutes {
  return new ApiRoutes(new Hono<AppEnv>()).add(
    {
      method: 'post',
      path: '/tasks/{id}/run-now',
      operationId: 'runTaskNow',
      tags: ['operator'],
      summary: 'Run a delayed task now',
      description:
        'Moves a delayed task, or a failed one waiting for its retry, to the tail of its lane. ' +
        'Idempotent: a queued task answers 200 unchanged (so a re-sent request answers as the ' +
        'first). An active, succeeded, dead or canceled task gives 409 with its state.',
      secured: true,
      params: taskIdParamsSchema,
      responses: {
        200: { description: 'Queued', schema: runNowResultSchema },
        ...errorResponses(400, 401, 403, 404, 409, 503),
      },
    },
    async (c) => {
      const { id } = parseWith(taskIdParamsSchema, c.req.param());
      const result = await c.var.queue.runNow(id);
      switch (result.outcome) {
        case 'queued':
          return c.json({ id, state: 'queued' as const }, 200);
        case 'not_found':
          throw new ApiError(404, 'not_found', `No task ${id}`, { details: { id } });
        case 'conflict':
          throw new ApiError(
            409,
            'conflict',
            `Task ${id} is ${result.state}; only delayed or failed (awaiting a retry) tasks can be run now`,
            { details: { id, state: result.state } },
          );
        default: {
          const exhaustive: never = result;
          throw new Error(`unexpected run-now outcome ${JSON.stringify(exhaustive)}`);
        }
      }
    },
  );
}
