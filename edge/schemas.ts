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
  type BulkProgress,
  enqueueRequestSchema,
  LIMITS,
  PRIORITIES,
  type QueueOverview,
  type QueueStats,
  TASK_STATES,
  type TaskPage,
  type TaskSummary,
  type TaskView,
} from '../shared/index.js';
import {
  DEAD_IDS_MAX,
  LIST_MAX_COUNT,
  SEARCH_MAX_EXAMINED,
  SEARCH_MAX_LIMIT,
} from '../shared/scripts/index.js';
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

function doc<S extends z.ZodType>(schema: S, meta: SchemaMeta): S {
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

const isoTime = () => doc(z.string(), { format: 'date-time' });

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

// ---------------------------------------------------------------------------------------------
// The operator routes (the dashboard's JSON): overview, search, waiting lists, dead letters.

/** A time in a query or filter: ms since the epoch, or ISO 8601 (a date, or a date and time). */
const TIME_PATTERN =
  /^(\d{1,16}|\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)$/;

/**
 * A time as the API accepts it (ms since the epoch, or an ISO 8601 date or date-time; a
 * date-time without an offset is UTC), as ms; null when it is not one.
 */
export function timeToMs(value: string | number): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (!TIME_PATTERN.test(value)) return null;
  if (/^\d+$/.test(value)) return Number(value);
  const iso = /T\d{2}:\d{2}(:[\d.]+)?$/.test(value) ? `${value}Z` : value;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
}

const TIME_MESSAGE = 'Must be ms since the epoch or an ISO 8601 time, e.g. 2026-11-30T12:00:00Z';
const timeText = z.string().refine((v) => timeToMs(v) !== null, TIME_MESSAGE);
const timeValue = z.union([z.int(), z.string()]).refine((v) => timeToMs(v) !== null, TIME_MESSAGE);

const countText = (what: string, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `Must be a whole number`)
    .refine((v) => Number(v) <= max, {
      message: `Must be at most ${max}`,
    })
    .describe(what);

const typeName = z.string().min(1).max(LIMITS.typeLength);

/** `GET /v1/tasks` query. */
export const searchQuerySchema = z
  .object({
    type: doc(typeName.optional(), { description: 'Only tasks of this type.' }),
    state: doc(z.enum(TASK_STATES).optional(), { description: 'Only tasks now in this state.' }),
    from: doc(timeText.optional(), {
      description: `Enqueued at or after (ms since the epoch, or ISO 8601). ${TIME_MESSAGE.slice(8)}`,
    }),
    to: doc(timeText.optional(), { description: 'Enqueued before (ms, or ISO 8601).' }),
    cursor: doc(z.string().min(1).max(400).optional(), {
      description: 'The `cursor` of the previous page.',
    }),
    limit: doc(countText('limit', SEARCH_MAX_LIMIT).optional(), {
      description: `Page size, 1-${SEARCH_MAX_LIMIT}. @default 50`,
    }),
    key: doc(z.string().min(1).max(LIMITS.idempotencyKeyLength).optional(), {
      description:
        'An idempotency key: answers the one task it names (or none), and takes no other filter.',
    }),
  })
  .strict();

/** `GET /v1/waiting/{list}` path. */
export const waitingParamsSchema = z.object({
  list: doc(z.enum([...PRIORITIES, 'delayed']), {
    description: 'A lane (FIFO, next to run first), or `delayed` (by due time, soonest first).',
  }),
});

const pageQuery = {
  offset: doc(countText('offset', 1_000_000).optional(), {
    description: 'Tasks to skip. @default 0',
  }),
  count: doc(countText('count', LIST_MAX_COUNT).optional(), {
    description: `Page size, 0-${LIST_MAX_COUNT}. @default 50`,
  }),
};

/** `GET /v1/waiting/{list}` query. */
export const waitingQuerySchema = z.object(pageQuery).strict();

/** `GET /v1/dead` query. */
export const deadQuerySchema = z
  .object({
    type: doc(typeName.optional(), { description: 'Only dead tasks of this type.' }),
    from: doc(timeText.optional(), { description: 'Dead at or after (ms, or ISO 8601).' }),
    to: doc(timeText.optional(), { description: 'Dead before (ms, or ISO 8601).' }),
    ...pageQuery,
  })
  .strict();

/** One line of a task list (`TaskSummary` in shared/queue-views.ts). */
export const taskSummarySchema = doc(
  z.object({
    id: z.string(),
    type: z.string(),
    state: z.enum(TASK_STATES),
    priority: z.enum(PRIORITIES),
    attempts: z.number(),
    maxAttempts: z.number(),
    enqueuedAt: isoTime().nullable(),
    runAt: doc(isoTime().nullable(), {
      description: 'When a delayed task, or a failed one awaiting its retry, is due.',
    }),
    finishedAt: isoTime().nullable(),
    error: doc(z.string().nullable(), { description: 'The last error, or null.' }),
    idempotencyKey: z.string().nullable(),
  }),
  { id: 'TaskSummary' },
);

/** `GET /v1/tasks` response. */
export const taskPageSchema = doc(
  z.object({
    tasks: z.array(taskSummarySchema),
    cursor: doc(z.string().nullable(), {
      description: 'Pass it back for the next page; null on the last one.',
    }),
  }),
  {
    id: 'TaskPage',
    description:
      `Newest first. One call examines at most ${SEARCH_MAX_EXAMINED} entries of the search ` +
      'index, so a page may be short, or empty, with a cursor to go on.',
  },
);

/** `GET /v1/waiting/{list}` and `GET /v1/dead` response. */
export const listPageSchema = doc(
  z.object({ total: z.number(), tasks: z.array(taskSummarySchema) }),
  {
    id: 'TaskList',
    description:
      "A page of a list and the list's length (for dead letters: those in the time range, any type).",
  },
);

const slotsSchema = z.object({ free: z.number(), busy: z.number(), prefetched: z.number() });

/** `GET /v1/overview` response (`QueueOverview` in shared/queue-views.ts). */
export const overviewSchema = doc(
  z.object({
    queue: z.string(),
    now: doc(z.number(), { description: "Redis's clock (ms) when the snapshot was taken." }),
    lanes: z.array(
      z.object({
        lane: z.enum(PRIORITIES),
        size: z.number(),
        oldestWaitMs: doc(z.number().nullable(), {
          description: "How long the lane's head has waited to run (ms), null when empty.",
        }),
      }),
    ),
    delayed: z.number(),
    active: z.number(),
    totals: z.object({
      enqueued: z.number(),
      succeeded: z.number(),
      failed: z.number(),
      dead: z.number(),
      canceled: z.number(),
    }),
    deadKept: z.number(),
    hosts: z.array(
      z.object({
        id: z.string(),
        hostname: z.string().nullable(),
        pid: z.number().nullable(),
        concurrency: z.number(),
        prefetch: z.number(),
        startedAt: z.number().nullable(),
        lastHeartbeatAt: z.number().nullable(),
        expiresAt: z.number(),
        children: z.number().nullable(),
        rssBytes: z.number().nullable(),
        slots: slotsSchema,
      }),
    ),
    history: z.array(
      z.object({
        at: z.number(),
        enqueued: z.number(),
        succeeded: z.number(),
        failed: z.number(),
        dead: z.number(),
      }),
    ),
  }),
  {
    id: 'Overview',
    description:
      'Lanes with the wait of their head, set sizes, running totals, live worker hosts with ' +
      'their slots (free, busy, prefetched) and vital signs, and a sampled history of the ' +
      'totals (one sample per 10 s at most, the last hour). Times are ms since the epoch.',
  },
);

/** `POST /v1/dead/retry` and `POST /v1/dead/delete` body. */
export const deadIdsBodySchema = doc(
  z
    .object({
      ids: z
        .array(taskIdParamsSchema.shape.id)
        .min(1, 'Must hold at least 1 id')
        .max(DEAD_IDS_MAX, `Must hold at most ${DEAD_IDS_MAX} ids`),
    })
    .strict(),
  { id: 'DeadIds' },
);

/** `POST /v1/dead/retry` response. */
export const retryDeadResultSchema = doc(
  z.object({ retried: z.number(), notDead: z.array(z.string()) }),
  { id: 'RetryDeadResult', description: 'How many were retried; the ids that were not dead.' },
);

/** `POST /v1/dead/delete` response. */
export const deleteDeadResultSchema = doc(
  z.object({ deleted: z.number(), notDead: z.array(z.string()) }),
  {
    id: 'DeleteDeadResult',
    description:
      'How many were deleted; the ids that were not dead (a re-sent delete lists the ids it deleted before here).',
  },
);

/** `POST /v1/dead/retry-matching` and `POST /v1/dead/delete-matching` body. */
export const deadMatchingBodySchema = doc(
  z
    .object({
      filter: z
        .object({
          type: typeName.optional(),
          from: doc(timeValue.optional(), { description: 'Dead at or after (ms, or ISO 8601).' }),
          to: doc(timeValue.optional(), { description: 'Dead before (ms, or ISO 8601).' }),
        })
        .strict(),
      cursor: doc(z.string().min(1).max(400).nullable(), {
        description: 'null to start, then the cursor of the previous answer.',
      }),
    })
    .strict(),
  { id: 'DeadMatching' },
);

/** Bulk progress (`BulkProgress` in shared/queue-views.ts). */
export const bulkProgressSchema = doc(
  z.object({
    processed: z.number(),
    done: z.boolean(),
    cursor: z.string().nullable(),
  }),
  {
    id: 'BulkProgress',
    description:
      'One chunk (at most 200 tasks) was handled; call again with `cursor` until `done`.',
  },
);

/** `POST /v1/tasks/{id}/run-now` response. */
export const runNowResultSchema = doc(z.object({ id: z.string(), state: z.literal('queued') }), {
  id: 'RunNowResult',
});

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
type Same<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;
export type SchemaChecks = [
  Assert<Same<z.infer<typeof taskViewSchema>, TaskView>>,
  Assert<Same<z.infer<typeof statsSchema>, QueueStats>>,
  Assert<Same<z.infer<typeof errorSchema>, ErrorBody>>,
  Assert<Same<z.infer<typeof taskSummarySchema>, TaskSummary>>,
  Assert<Same<z.infer<typeof taskPageSchema>, TaskPage>>,
  Assert<Same<z.infer<typeof overviewSchema>, QueueOverview>>,
  Assert<Same<z.infer<typeof bulkProgressSchema>, BulkProgress>>,
];
