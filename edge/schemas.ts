/**
 * The API's JSON shapes as zod schemas: the single source of `/openapi.json` and of the response
 * types the route handlers are checked against.
 *
 * Requests are documented from the shared registry (one request shape per task type, with that
 * type's payload schema) but validated by `prepareEnqueue` / `prepareBatch` from `shared/`, the
 * same rules the CLI applies. Responses mirror `TaskView` and `QueueStats` from `shared/`; the
 * type assertions at the bottom fail to compile if the two ever drift apart.
 */
import { z } from '@hono/zod-openapi';
import {
  enqueueRequestSchema,
  LIMITS,
  PRIORITIES,
  type QueueStats,
  TASK_STATES,
  type TaskView,
} from '../shared/index.js';
import { tasks } from '../shared/tasks/index.js';
import { ERROR_CODES, type ErrorBody } from './errors.js';

/** `{ error: { code, message, details? } }`, the body of every error response. */
export const errorSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      details: z
        .record(z.string(), z.unknown())
        .optional()
        .openapi({
          description:
            '`issues: [{ path, message }]` for invalid_request and payload_too_large; ' +
            '`state` for conflict',
        }),
    }),
  })
  .openapi('Error');

/** The request of one task type: the common fields, with `type` fixed and its `payload` schema. */
function requestOfType(name: string, definition: (typeof tasks)[keyof typeof tasks]) {
  return enqueueRequestSchema
    .extend({ type: z.literal(name), payload: definition.payload })
    .openapi(`EnqueueRequest_${name}`, { description: definition.description });
}

const requestSchemas = Object.entries(tasks).map(([name, definition]) =>
  requestOfType(name, definition),
);

/** `POST /v1/tasks` body: one of the task types of the registry. */
export const enqueueRequestDocSchema = (
  requestSchemas.length === 1
    ? (requestSchemas[0] as (typeof requestSchemas)[number])
    : z.discriminatedUnion('type', requestSchemas as [(typeof requestSchemas)[number]])
).openapi('EnqueueRequest');

/** `POST /v1/tasks/batch` body. */
export const batchRequestDocSchema = z
  .object({ tasks: z.array(enqueueRequestDocSchema).min(1).max(LIMITS.batchSize) })
  .strict()
  .openapi('BatchRequest');

/** The envelope of a batch, checked before each task is (the tasks by `prepareBatch`). */
export const batchEnvelopeSchema = z
  .object({
    tasks: z
      .array(z.unknown(), { error: 'Expected an array of tasks' })
      .min(1, 'Must hold at least 1 task')
      .max(LIMITS.batchSize, `Must hold at most ${LIMITS.batchSize} tasks`),
  })
  .strict();

/** What enqueue says about one task. */
export const enqueueResultSchema = z
  .object({
    id: z.string().openapi({ example: '5b6f2c1e-8f0d-4a57-9c8e-0b3c2f9d7a41' }),
    state: z.enum([...TASK_STATES, 'expired']).openapi({
      description:
        "'queued' or 'delayed' for a new task. For a duplicate (an idempotencyKey seen in the " +
        "last 24 h) the earlier task's id and current state, or 'expired' if its record is gone.",
    }),
    duplicate: z
      .boolean()
      .openapi({ description: 'True when idempotencyKey named an earlier task.' }),
  })
  .openapi('EnqueueResult');

/** `POST /v1/tasks/batch` response. */
export const batchResultSchema = z
  .object({ tasks: z.array(enqueueResultSchema) })
  .openapi('BatchResult');

/** A task id in a path. */
export const taskIdParamsSchema = z.object({
  id: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'Must be 1-128 characters of A-Z a-z 0-9 _ . : -')
    .openapi({
      param: { name: 'id', in: 'path' },
      example: '5b6f2c1e-8f0d-4a57-9c8e-0b3c2f9d7a41',
    }),
});

const isoTime = z.string().openapi({ format: 'date-time' });

/** The public view of a task (`TaskView` in shared/task-record.ts). */
export const taskViewSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    payload: z.unknown(),
    priority: z.enum(PRIORITIES),
    state: z.enum(TASK_STATES),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    result: z.unknown().openapi({ description: "The handler's result once succeeded, else null." }),
    error: z.string().nullable(),
    createdAt: isoTime,
    startedAt: isoTime.nullable(),
    finishedAt: isoTime.nullable(),
    runAt: isoTime.nullable().openapi({
      description: 'When a delayed task, or a failed one awaiting its retry, is due.',
    }),
    timeoutMs: z.number().int(),
    stalls: z.number().int(),
  })
  .openapi('Task');

/** `DELETE /v1/tasks/{id}` response. */
export const cancelResultSchema = z
  .object({ id: z.string(), state: z.literal('canceled') })
  .openapi('CancelResult');

/** The queue's counters (`QueueStats` in shared/queue-client.ts). */
export const statsSchema = z
  .object({
    queue: z.string(),
    lanes: z.object({ high: z.number(), normal: z.number(), low: z.number() }),
    delayed: z.number(),
    active: z.number(),
    succeeded: z.number(),
    failed: z.number(),
    dead: z.number(),
    canceled: z.number(),
  })
  .openapi('Stats');

/** `GET /healthz` response. */
export const healthSchema = z.object({ status: z.literal('ok') }).openapi('Health');

/** Error responses, for a route's `responses`. */
export function errorResponses<S extends number>(...statuses: S[]) {
  const descriptions: Record<number, string> = {
    400: 'Invalid JSON or an invalid field (`invalid_json`, `invalid_request`)',
    401: 'Missing or unknown bearer token (`unauthorized`)',
    404: 'No such task (`not_found`)',
    409: 'The task cannot be canceled in its state (`conflict`)',
    413: 'Body or a payload over its limit (`payload_too_large`)',
    503: 'Not configured, or the task store is unavailable (`not_configured`, `store_unavailable`)',
  };
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: descriptions[status] ?? 'Error',
        content: { 'application/json': { schema: errorSchema } },
      },
    ]),
  ) as Record<
    S,
    { description: string; content: { 'application/json': { schema: typeof errorSchema } } }
  >;
}

// Compile-time checks: the schemas describe exactly the shared types.
type Same<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;
export type SchemaChecks = [
  Assert<Same<z.infer<typeof taskViewSchema>, TaskView>>,
  Assert<Same<z.infer<typeof statsSchema>, QueueStats>>,
  Assert<Same<z.infer<typeof errorSchema>, ErrorBody>>,
];
