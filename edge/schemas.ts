/**
 * The API's JSON shapes as zod schemas: the single source of `/openapi.json` (see openapi.ts)
 * and of the types the route handlers are checked against.
 *
 * Requests are documented from the shared registry (one request shape per task type, with that
 * type's payload schema) but validated by `prepareEnqueue` / `prepareBatch` from `shared/`, the
 * same rules the CLI applies. Responses mirror `TaskView` and `QueueStats` from `shared/`; the
 * type assertions at the bottom fail to compile if the two ever drift apart.
 *
 * `import * as z` (not `import { z }`) lets the bundler drop the parts of zod we never use.
 */
import * as z from 'zod';
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

/** Metadata for the OpenAPI document: `id` makes a schema a named component. */
export interface SchemaMeta {
  id?: string;
  description?: string;
  examples?: unknown[];
  format?: string;
}

/** The schemas and properties `/openapi.json` describes (named ones become components). */
export const components = z.registry<SchemaMeta>();

export function doc<S extends z.ZodType>(schema: S, meta: SchemaMeta): S {
  components.add(schema, meta);
  return schema;
}

const TASK_ID_EXAMPLE = '5b6f2c1e-8f0d-4a57-9c8e-0b3c2f9d7a41';

/** `{ error: { code, message, details? } }`, the body of every error response. */
export const errorSchema = doc(
  z.object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      details: doc(z.record(z.string(), z.unknown()).optional(), {
        description:
          '`issues: [{ path, message }]` for invalid_request and payload_too_large (and ' +
          '`limit` when the whole body is too large); `id`, `state` for conflict; `problems` ' +
          'for not_configured.',
      }),
    }),
  }),
  { id: 'Error' },
);

const requestSchemas = Object.entries(tasks).map(([name, definition]) =>
  doc(enqueueRequestSchema.extend({ type: z.literal(name), payload: definition.payload }), {
    id: `EnqueueRequest_${name}`,
    description: definition.description,
  }),
);

/** `POST /v1/tasks` body: one of the task types of the registry. */
export const enqueueRequestDocSchema = doc(
  z.discriminatedUnion('type', requestSchemas as [(typeof requestSchemas)[number]]),
  {
    id: 'EnqueueRequest',
    description:
      'One task. `delaySeconds` (up to a year) makes it delayed; `idempotencyKey` makes a ' +
      'repeat within 24 h return the first task; `maxAttempts`, `maxStalls` and `timeoutMs` ' +
      "override the type's policy.",
  },
);

/** `POST /v1/tasks/batch` body. */
export const batchRequestDocSchema = doc(
  z.object({ tasks: z.array(enqueueRequestDocSchema).min(1).max(LIMITS.batchSize) }).strict(),
  { id: 'BatchRequest' },
);

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
export const enqueueResultSchema = doc(
  z.object({
    id: doc(z.string(), { examples: [TASK_ID_EXAMPLE] }),
    state: doc(z.enum([...TASK_STATES, 'expired']), {
      description:
        "'queued' or 'delayed' for a new task. For a duplicate (an idempotencyKey seen in the " +
        "last 24 h) the earlier task's id and current state, or 'expired' if its record is gone.",
    }),
    duplicate: doc(z.boolean(), { description: 'True when idempotencyKey named an earlier task.' }),
  }),
  { id: 'EnqueueResult' },
);

/** `POST /v1/tasks/batch` response. */
export const batchResultSchema = doc(z.object({ tasks: z.array(enqueueResultSchema) }), {
  id: 'BatchResult',
  description: 'One result per task, in request order.',
});

/** A task id in a path. */
export const taskIdParamsSchema = z.object({
  id: doc(
    z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'Must be 1-128 characters of A-Z a-z 0-9 _ . : -'),
    { examples: [TASK_ID_EXAMPLE] },
  ),
});

export const isoTime = () => doc(z.string(), { format: 'date-time' });

/** The public view of a task (`TaskView` in shared/task-record.ts). */
export const taskViewSchema = doc(
  z.object({
    id: z.string(),
    type: z.string(),
    payload: z.unknown(),
    priority: z.enum(PRIORITIES),
    state: z.enum(TASK_STATES),
    attempts: z.int(),
    maxAttempts: z.int(),
    result: doc(z.unknown(), { description: "The handler's result once succeeded, else null." }),
    error: z.string().nullable(),
    createdAt: isoTime(),
    startedAt: isoTime().nullable(),
    finishedAt: isoTime().nullable(),
    runAt: doc(isoTime().nullable(), {
      description: 'When a delayed task, or a failed one awaiting its retry, is due.',
    }),
    timeoutMs: z.int(),
    stalls: doc(z.int(), {
      description:
        'Times it lost its worker host (crash, kill, cut-off) and went back to its lane; not attempts.',
    }),
    maxStalls: doc(z.int(), { description: 'Stalls allowed; one more and the task is dead.' }),
  }),
  { id: 'Task' },
);

/** `DELETE /v1/tasks/{id}` response. */
export const cancelResultSchema = doc(z.object({ id: z.string(), state: z.literal('canceled') }), {
  id: 'CancelResult',
});

/** The queue's counters (`QueueStats` in shared/queue-client.ts). */
export const statsSchema = doc(
  z.object({
    queue: z.string(),
    lanes: z.object({ high: z.number(), normal: z.number(), low: z.number() }),
    delayed: z.number(),
    active: z.number(),
    succeeded: z.number(),
    failed: z.number(),
    dead: z.number(),
    canceled: z.number(),
  }),
  {
    id: 'Stats',
    description:
      'Lane lengths and set sizes now (delayed counts failed tasks awaiting a retry), and ' +
      'running totals of succeeded, failed (attempts) and canceled tasks.',
  },
);

/** `GET /healthz` response. */
export const healthSchema = doc(z.object({ status: z.literal('ok') }), { id: 'Health' });

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid JSON or an invalid field (`invalid_json`, `invalid_request`)',
  401: 'Missing or unknown bearer token (`unauthorized`)',
  403: 'A read-only token on a route that changes something (`forbidden`)',
  404: 'No such task (`not_found`)',
  409: 'The task cannot be canceled, or run now, in its state (`conflict`)',
  413: 'The body, or a task payload, is over its limit (`payload_too_large`)',
  500: 'A bug, or a stored record that cannot be read (`internal`, `corrupt_record`)',
  503: 'Not configured, or the task store is unavailable (`not_configured`, `store_unavailable`)',
};

/** Error responses, for an operation's `responses`. */
export function errorResponses(
  ...statuses: number[]
): Record<number, { description: string; schema: typeof errorSchema }> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: ERROR_DESCRIPTIONS[status] ?? 'Error', schema: errorSchema },
    ]),
  );
}

/** The JSON of an enqueue result. */
export type EnqueueResultBody = z.infer<typeof enqueueResultSchema>;
/** The JSON of a cancel result. */
export type CancelResultBody = z.infer<typeof cancelResultSchema>;

// Compile-time checks: the schemas describe exactly the shared types.
/** True when `A` and `B` are the same type. */
export type Same<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only for `true`. */
export type Assert<T extends true> = T;
export type SchemaChecks = [
  Assert<Same<z.infer<typeof taskViewSchema>, TaskView>>,
  Assert<Same<z.infer<typeof statsSchema>, QueueStats>>,
  Assert<Same<z.infer<typeof errorSchema>, ErrorBody>>,
];
