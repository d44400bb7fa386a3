/**
 * The zod schemas of the operator routes (the dashboard's JSON, in `/openapi.json`): overview,
 * task search, waiting lists, dead letters and their bulk actions, run-now. The enqueue, task
 * and error schemas are in schemas.ts.
 */
import * as z from 'zod';
import {
  type BulkProgress,
  LIMITS,
  PRIORITIES,
  type QueueOverview,
  TASK_STATES,
  type TaskPage,
  type TaskSummary,
} from '../shared/index.js';
import {
  DEAD_IDS_MAX,
  LIST_MAX_COUNT,
  SEARCH_MAX_EXAMINED,
  SEARCH_MAX_LIMIT,
} from '../shared/scripts/index.js';
import { type Assert, doc, isoTime, type Same, taskIdParamsSchema } from './schemas.js';

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

// Compile-time checks: the schemas describe exactly the shared types.
export type OperatorSchemaChecks = [
  Assert<Same<z.infer<typeof taskSummarySchema>, TaskSummary>>,
  Assert<Same<z.infer<typeof taskPageSchema>, TaskPage>>,
  Assert<Same<z.infer<typeof overviewSchema>, QueueOverview>>,
  Assert<Same<z.infer<typeof bulkProgressSchema>, BulkProgress>>,
];
