/**
 * `/v1/tasks`: enqueue one task or a batch, read a task, cancel a task.
 *
 * Enqueue validates with the shared rules (`prepareEnqueue` / `prepareBatch`, the same the CLI
 * uses) before anything is sent to Redis, so a rejected request costs no round trip and writes
 * nothing; a valid one is written by one enqueue script call — one REST request (two only when
 * Redis has lost its script cache: EVALSHA answers NOSCRIPT, then EVAL).
 *
 * The bodies of the two POST routes are documented from the registry's schemas but validated
 * by hand (the routes are registered in the OpenAPI registry, and mounted with `hide`), so the
 * issues come back in the shared format, with the task index in the path.
 */
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { type EnqueueResult, prepareBatch, prepareEnqueue, toIssues } from '../../shared/index.js';
import { tasks } from '../../shared/tasks/index.js';
import { readJson } from '../body.js';
import type { AppEnv } from '../context.js';
import { ApiError, validationError } from '../errors.js';
import {
  batchEnvelopeSchema,
  batchRequestDocSchema,
  batchResultSchema,
  cancelResultSchema,
  enqueueRequestDocSchema,
  enqueueResultSchema,
  errorResponses,
  taskIdParamsSchema,
  taskViewSchema,
} from '../schemas.js';

const security = [{ bearerAuth: [] }];

const enqueueRoute = createRoute({
  method: 'post',
  path: '/tasks',
  tags: ['tasks'],
  summary: 'Enqueue a task',
  description:
    'Validates the task against its type and writes it in one round trip. With an ' +
    'idempotencyKey seen in the last 24 h, nothing is written and the earlier task comes back ' +
    '(`duplicate: true`).',
  security,
  request: {
    body: { required: true, content: { 'application/json': { schema: enqueueRequestDocSchema } } },
  },
  responses: {
    202: {
      description: 'Accepted (or a duplicate of an earlier task)',
      content: { 'application/json': { schema: enqueueResultSchema } },
    },
    ...errorResponses(400, 401, 413, 503),
  },
});

const batchRoute = createRoute({
  method: 'post',
  path: '/tasks/batch',
  tags: ['tasks'],
  summary: 'Enqueue up to 1000 tasks at once',
  description:
    'All or nothing: every task is validated first, and issues name the task (`tasks.<i>.…`); ' +
    'a valid batch is written atomically in one round trip. Results are in request order.',
  security,
  request: {
    body: { required: true, content: { 'application/json': { schema: batchRequestDocSchema } } },
  },
  responses: {
    202: {
      description: 'Accepted',
      content: { 'application/json': { schema: batchResultSchema } },
    },
    ...errorResponses(400, 401, 413, 503),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/tasks/{id}',
  tags: ['tasks'],
  summary: 'Read a task',
  security,
  request: { params: taskIdParamsSchema },
  responses: {
    200: { description: 'The task', content: { 'application/json': { schema: taskViewSchema } } },
    ...errorResponses(400, 401, 404, 503),
  },
});

const cancelRoute = createRoute({
  method: 'delete',
  path: '/tasks/{id}',
  tags: ['tasks'],
  summary: 'Cancel a task that has not started',
  description:
    'Cancels a queued or delayed task, and also a failed one that is waiting for its retry ' +
    '(in effect delayed). An active, succeeded, dead or canceled task gives 409 with its state.',
  security,
  request: { params: taskIdParamsSchema },
  responses: {
    200: {
      description: 'Canceled',
      content: { 'application/json': { schema: cancelResultSchema } },
    },
    ...errorResponses(400, 401, 404, 409, 503),
  },
});

const notFound = (id: string) =>
  new ApiError(404, 'not_found', `No task ${id}`, { details: { id } });

const view = (r: EnqueueResult) => ({ id: r.id, state: r.state, duplicate: r.duplicate });

/** The `/tasks` routes, to mount under `/v1`. */
export function taskRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(toIssues(result.error));
    },
  });

  app.openAPIRegistry.registerPath(enqueueRoute);
  app.openapi({ ...enqueueRoute, request: {}, hide: true }, async (c) => {
    const prepared = prepareEnqueue(tasks, await readJson(c), {
      maxPayloadBytes: c.var.config.maxTaskBytes,
    });
    if (!prepared.ok) throw validationError(prepared.issues);
    const [result] = await c.var.queue.enqueue([prepared.spec]);
    if (!result) throw new Error('enqueue returned no result');
    return c.json(view(result), 202, { Location: `/v1/tasks/${result.id}` });
  });

  app.openAPIRegistry.registerPath(batchRoute);
  app.openapi({ ...batchRoute, request: {}, hide: true }, async (c) => {
    const envelope = batchEnvelopeSchema.safeParse(await readJson(c));
    if (!envelope.success) throw validationError(toIssues(envelope.error));
    const prepared = prepareBatch(tasks, envelope.data.tasks, {
      maxPayloadBytes: c.var.config.maxTaskBytes,
    });
    if (!prepared.ok) {
      throw validationError(prepared.issues.map((i) => ({ ...i, path: `tasks.${i.path}` })));
    }
    const results = await c.var.queue.enqueue(prepared.specs);
    return c.json({ tasks: results.map(view) }, 202);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const task = await c.var.queue.getTask(id);
    if (!task) throw notFound(id);
    return c.json(task, 200);
  });

  app.openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid('param');
    const outcome = await c.var.queue.cancel(id);
    switch (outcome.outcome) {
      case 'canceled':
        return c.json({ id, state: 'canceled' as const }, 200);
      case 'not_found':
        throw notFound(id);
      case 'conflict':
        throw new ApiError(
          409,
          'conflict',
          `Task ${id} is ${outcome.state}; it cannot be canceled`,
          {
            details: { id, state: outcome.state },
          },
        );
      default: {
        const exhaustive: never = outcome;
        throw new Error(`unexpected cancel outcome ${JSON.stringify(exhaustive)}`);
      }
    }
  });

  return app;
}
