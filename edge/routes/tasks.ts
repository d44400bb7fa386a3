/**
 * `/v1/tasks`: enqueue one task or a batch, read a task, cancel a task.
 *
 * Enqueue validates with the shared rules (`prepareEnqueue` / `prepareBatch`, the same the CLI
 * uses) before anything is sent to Redis, so a rejected request costs no round trip and writes
 * nothing; a valid one is written by one enqueue script call — one REST request (two only when
 * Redis has lost its script cache: EVALSHA answers NOSCRIPT, then EVAL). Strings bound for Redis
 * keys must be well-formed Unicode (the shared rules refuse a lone surrogate with a 400 naming
 * the field); ids in the path are ASCII by their pattern.
 *
 * Re-sent store requests are safe: @upstash/redis sends a request again when its reply is lost,
 * and the task ids are made once per HTTP request, so the enqueue script recognises its own
 * replay and answers the same ids and duplicate flags; cancel answers a canceled task as
 * canceled again.
 */
import { Hono } from 'hono';
import {
  type EnqueueResult,
  prepareBatch,
  prepareEnqueue,
  type TaskView,
  toIssues,
} from '../../shared/index.js';
import { tasks } from '../../shared/tasks/index.js';
import { readJson } from '../body.js';
import type { AppEnv } from '../context.js';
import { ApiError, validationError } from '../errors.js';
import { ApiRoutes } from '../openapi.js';
import {
  batchEnvelopeSchema,
  batchRequestDocSchema,
  batchResultSchema,
  type CancelResultBody,
  cancelResultSchema,
  type EnqueueResultBody,
  enqueueRequestDocSchema,
  enqueueResultSchema,
  errorResponses,
  taskIdParamsSchema,
  taskViewSchema,
} from '../schemas.js';

const notFound = (id: string) =>
  new ApiError(404, 'not_found', `No task ${id}`, { details: { id } });

const resultBody = (r: EnqueueResult): EnqueueResultBody => ({
  id: r.id,
  state: r.state,
  duplicate: r.duplicate,
});

/** The validated `{id}` of the path. */
function taskId(param: Record<string, string>): string {
  const parsed = taskIdParamsSchema.safeParse(param);
  if (!parsed.success) throw validationError(toIssues(parsed.error));
  return parsed.data.id;
}

/** The `/tasks` routes, to mount under `/v1`. */
export function taskRoutes(): ApiRoutes {
  const routes = new ApiRoutes(new Hono<AppEnv>());

  routes.add(
    {
      method: 'post',
      path: '/tasks',
      operationId: 'enqueueTask',
      tags: ['tasks'],
      summary: 'Enqueue a task',
      description:
        'Validates the task against its type and writes it in one round trip. With an ' +
        'idempotencyKey seen in the last 24 h nothing is written and the earlier task comes ' +
        'back (`duplicate: true`).',
      secured: true,
      body: enqueueRequestDocSchema,
      responses: {
        202: {
          description: 'Accepted (or a duplicate of an earlier task)',
          schema: enqueueResultSchema,
        },
        ...errorResponses(400, 401, 403, 413, 503),
      },
    },
    async (c) => {
      const prepared = prepareEnqueue(tasks, await readJson(c), {
        maxPayloadBytes: c.var.config.maxTaskBytes,
      });
      if (!prepared.ok) throw validationError(prepared.issues);
      const [result] = await c.var.queue.enqueue([prepared.spec]);
      if (!result) throw new Error('enqueue returned no result');
      return c.json(resultBody(result), 202, {
        Location: `/v1/tasks/${encodeURIComponent(result.id)}`,
      });
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/tasks/batch',
      operationId: 'enqueueBatch',
      tags: ['tasks'],
      summary: 'Enqueue up to 1000 tasks at once',
      description:
        'All or nothing: every task is validated first, and issues name the task ' +
        '(`tasks.<i>.…`); a valid batch is written atomically in one round trip.',
      secured: true,
      body: batchRequestDocSchema,
      responses: {
        202: { description: 'Accepted', schema: batchResultSchema },
        ...errorResponses(400, 401, 403, 413, 503),
      },
    },
    async (c) => {
      const envelope = batchEnvelopeSchema.safeParse(await readJson(c));
      if (!envelope.success) throw validationError(toIssues(envelope.error));
      const prepared = prepareBatch(tasks, envelope.data.tasks, {
        maxPayloadBytes: c.var.config.maxTaskBytes,
      });
      if (!prepared.ok) {
        throw validationError(prepared.issues.map((i) => ({ ...i, path: `tasks.${i.path}` })));
      }
      const results = await c.var.queue.enqueue(prepared.specs);
      return c.json({ tasks: results.map(resultBody) }, 202);
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/tasks/{id}',
      operationId: 'getTask',
      tags: ['tasks'],
      summary: 'Read a task',
      description: 'The same document as the CLI’s `status --json`.',
      secured: true,
      params: taskIdParamsSchema,
      responses: {
        200: { description: 'The task', schema: taskViewSchema },
        ...errorResponses(400, 401, 404, 500, 503),
      },
    },
    async (c) => {
      const id = taskId(c.req.param());
      const task: TaskView | null = await c.var.queue.getTask(id);
      if (!task) throw notFound(id);
      return c.json(task, 200);
    },
  );

  routes.add(
    {
      method: 'delete',
      path: '/tasks/{id}',
      operationId: 'cancelTask',
      tags: ['tasks'],
      summary: 'Cancel a task that has not started',
      description:
        'Cancels a queued or delayed task, and also a failed one waiting for its retry (in ' +
        'effect delayed). Idempotent: a task that is canceled already answers 200 again, ' +
        'unchanged (so a re-sent DELETE answers as the first). An active, succeeded or dead ' +
        'task gives 409 with its state.',
      secured: true,
      params: taskIdParamsSchema,
      responses: {
        200: { description: 'Canceled', schema: cancelResultSchema },
        ...errorResponses(400, 401, 403, 404, 409, 503),
      },
    },
    async (c) => {
      const id = taskId(c.req.param());
      const outcome = await c.var.queue.cancel(id);
      switch (outcome.outcome) {
        case 'canceled': {
          const body: CancelResultBody = { id, state: 'canceled' };
          return c.json(body, 200);
        }
        case 'not_found':
          throw notFound(id);
        case 'conflict':
          throw new ApiError(
            409,
            'conflict',
            `Task ${id} is ${outcome.state}; only queued, delayed or failed (awaiting a retry) tasks can be canceled`,
            { details: { id, state: outcome.state } },
          );
        default: {
          const exhaustive: never = outcome;
          throw new Error(`unexpected cancel outcome ${JSON.stringify(exhaustive)}`);
        }
      }
    },
  );

  return routes;
}
