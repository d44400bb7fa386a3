/**
 * The task record codec: the hash fields in Redis <-> typed objects, in one place for both
 * halves. Scripts return HGETALL as a flat array of strings (ioredis and @upstash/redis with
 * `automaticDeserialization: false` alike); numbers are decimal strings, payload and result
 * are JSON, times are epoch milliseconds.
 */
import * as z from 'zod';
import { DEFAULT_POLICY } from './defaults.js';
import { CorruptRecordError } from './errors.js';
import { PRIORITIES } from './priority.js';
import { TASK_STATES } from './task-state.js';

/** The largest time a `Date` can hold (ms); a later one would make `toTaskView` throw. */
const MAX_DATE_MS = 8_640_000_000_000_000;
/**
 * A decimal integer as the scripts store it. Not `z.coerce.number()`, which reads '' and ' ' as
 * 0 and accepts '1e3' or '0x10': a field like that is corruption, not a number.
 */
const integer = z
  .preprocess(
    (value) => (typeof value === 'number' ? String(value) : value),
    z.string().regex(/^\d+$/, 'is not a decimal integer'),
  )
  .transform((text) => Number(text));
const count = integer.pipe(z.int().min(0));
const millis = integer.pipe(z.int().min(0).max(MAX_DATE_MS));
const json = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
    return z.NEVER;
  }
});

const recordSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  payload: json,
  priority: z.enum(PRIORITIES),
  state: z.enum(TASK_STATES),
  attempts: count,
  maxAttempts: count,
  /** Records written before stalls had a limit of their own have none: the default applies. */
  maxStalls: count.default(DEFAULT_POLICY.maxStalls),
  timeoutMs: millis,
  backoffMs: millis.optional(),
  backoffMaxMs: millis.optional(),
  resultTtlMs: millis.optional(),
  deadTtlMs: millis.optional(),
  /** Times the task was claimed; a run's lease id. */
  claims: count.default(0),
  /** Times it lost its worker host (crash, kill, cut-off) and went back to its lane. */
  stalls: count.default(0),
  result: json.optional(),
  error: z.string().optional(),
  createdAt: millis,
  startedAt: millis.optional(),
  finishedAt: millis.optional(),
  runAt: millis.optional(),
  idempotencyKey: z.string().optional(),
  /** The worker host that last leased it (kept after the run, for tracing). */
  host: z.string().optional(),
});

/**
 * A decoded task record (the fields of `recordSchema`, with `claims` and `stalls` 0 and
 * `maxStalls` the default when absent).
 */
export type TaskRecord = z.output<typeof recordSchema>;

/** Turns a flat `[field, value, ...]` array into an object. */
export function pairsToObject(flat: readonly unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

/**
 * Decodes an HGETALL reply (flat array or object) into a record.
 *
 * @throws CorruptRecordError naming the bad fields.
 */
export function decodeTaskRecord(id: string, fields: unknown): TaskRecord {
  const raw = Array.isArray(fields) ? pairsToObject(fields) : (fields as Record<string, string>);
  if (raw === null || typeof raw !== 'object') {
    throw new CorruptRecordError(id, 'the record is not a hash');
  }
  if ('__corrupt' in raw) {
    throw new CorruptRecordError(id, `the key holds a ${raw.__corrupt}, not a hash`);
  }
  const parsed = recordSchema.safeParse(raw);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || 'record'} ${issue.message}`)
      .join('; ');
    throw new CorruptRecordError(id, detail);
  }
  return parsed.data;
}

/** The public view of a task, as `status --json` prints it and `GET /v1/tasks/:id` returns it. */
export interface TaskView
  extends Pick<
    TaskRecord,
    'id' | 'type' | 'payload' | 'priority' | 'state' | 'attempts' | 'maxAttempts' | 'timeoutMs'
  > {
  result: unknown;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** When a delayed task, or a failed one awaiting its retry, is due. */
  runAt: string | null;
  /** Times it lost its worker host (crash, kill, cut-off) and went back to its lane. */
  stalls: number;
  /** Stalls allowed; one more and the task is dead. */
  maxStalls: number;
}

const iso = (ms: number | undefined): string | null =>
  ms === undefined ? null : new Date(ms).toISOString();

/** The public view of a record (times as ISO-8601 strings, absent values as null). */
export function toTaskView(record: TaskRecord): TaskView {
  return {
    id: record.id,
    type: record.type,
    payload: record.payload,
    priority: record.priority,
    state: record.state,
    attempts: record.attempts,
    maxAttempts: record.maxAttempts,
    result: record.result === undefined ? null : record.result,
    error: record.error ?? null,
    createdAt: new Date(record.createdAt).toISOString(),
    startedAt: iso(record.startedAt),
    finishedAt: iso(record.finishedAt),
    runAt: iso(record.runAt),
    timeoutMs: record.timeoutMs,
    stalls: record.stalls,
    maxStalls: record.maxStalls,
  };
}
