/**
 * Decoding the replies of the operator-view scripts (snapshot, search-tasks, find-by-key,
 * list-waiting, dead-page) into the documents of `queue-views.ts`. Replies come back as Redis
 * sends them (strings and integers in nested arrays, over ioredis and @upstash/redis alike).
 *
 * Fields of a corrupt record are read leniently, so one bad record never hides a whole page: a
 * time that is not a number reads as null, a count as 0, an unknown priority as `normal`. A
 * summary whose state is not a known one is left out, unless the caller names a state it must be
 * in (the dead index lists dead tasks only).
 */
import { isPriority, PRIORITIES } from './priority.js';
import type {
  HistorySample,
  HostView,
  LaneView,
  QueueOverview,
  TaskSummary,
} from './queue-views.js';
import { SUMMARY_WIDTH } from './scripts/lua-views.js';
import { TASK_STATES, type TaskState } from './task-state.js';

/** The largest time a `Date` can hold (ms). */
const MAX_DATE_MS = 8_640_000_000_000_000;

const text = (value: unknown): string =>
  value === null || value === undefined ? '' : String(value);

/** A non-negative integer, or null when `value` is not one (missing, '', corrupt). */
function whole(value: unknown): number | null {
  const s = text(value);
  if (!/^\d+$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/** An epoch-ms string as ISO 8601, or null. */
function isoTime(value: unknown): string | null {
  const ms = whole(value);
  return ms === null || ms > MAX_DATE_MS ? null : new Date(ms).toISOString();
}

function isTaskState(value: string): value is TaskState {
  return (TASK_STATES as readonly string[]).includes(value);
}

/**
 * Decodes the task summaries of a reply from index `from` on (`SUMMARY_WIDTH` entries each).
 * `state`: the state the tasks are known to be in, used when a record's own is unreadable.
 */
export function decodeSummaries(
  reply: readonly unknown[],
  from: number,
  state?: TaskState,
): TaskSummary[] {
  const out: TaskSummary[] = [];
  for (let i = from; i + SUMMARY_WIDTH <= reply.length; i += SUMMARY_WIDTH) {
    const [id, type, stored, priority, attempts, maxAttempts, createdAt, runAt, finishedAt] = reply
      .slice(i, i + 9)
      .map(text);
    const error = text(reply[i + 9]);
    const key = text(reply[i + 10]);
    const known = stored !== undefined && isTaskState(stored) ? stored : state;
    if (known === undefined) continue;
    out.push({
      id: id ?? '',
      type: type ?? '',
      state: known,
      priority: isPriority(priority) ? priority : 'normal',
      attempts: whole(attempts) ?? 0,
      maxAttempts: whole(maxAttempts) ?? 0,
      enqueuedAt: isoTime(createdAt),
      runAt: isoTime(runAt),
      finishedAt: isoTime(finishedAt),
      error: error === '' ? null : error,
      idempotencyKey: key === '' ? null : key,
    });
  }
  return out;
}

/** Reads a host's description JSON (written at registration), or an empty object. */
function description(json: string): Record<string, unknown> {
  if (json === '') return {};
  try {
    const parsed: unknown = JSON.parse(json);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const numberOr = <T>(value: unknown, fallback: T): number | T =>
  typeof value === 'number' && Number.isFinite(value) ? value : fallback;

function decodeHost(entry: unknown): HostView {
  const v = Array.isArray(entry) ? entry : [];
  const about = description(text(v[2]));
  return {
    id: text(v[0]),
    hostname: typeof about.hostname === 'string' ? about.hostname : null,
    pid: numberOr(about.pid, null),
    concurrency: numberOr(about.concurrency, 0),
    prefetch: numberOr(about.prefetch, 0),
    startedAt: whole(v[3]),
    lastHeartbeatAt: whole(v[4]),
    expiresAt: Number(v[1]) || 0,
    children: whole(v[5]),
    rssBytes: whole(v[6]),
    slots: { free: Number(v[7]) || 0, busy: Number(v[8]) || 0, prefetched: Number(v[9]) || 0 },
  };
}

function decodeSample(sample: unknown): HistorySample | null {
  const parts = text(sample).split(' ').map(whole);
  const [at, enqueued, succeeded, failed, dead] = parts;
  if (parts.length !== 5 || parts.some((p) => p === null)) return null;
  return {
    at: at ?? 0,
    enqueued: enqueued ?? 0,
    succeeded: succeeded ?? 0,
    failed: failed ?? 0,
    dead: dead ?? 0,
  };
}

/** Decodes the snapshot script's reply (see its header). */
export function decodeOverview(queue: string, reply: readonly unknown[]): QueueOverview {
  const [now, lanes, delayed, active, totals, deadKept, hosts, history] = reply;
  const laneRows = Array.isArray(lanes) ? lanes : [];
  const t = (Array.isArray(totals) ? totals : []).map((n) => Number(n) || 0);
  return {
    queue,
    now: Number(now) || 0,
    lanes: PRIORITIES.map((lane, i): LaneView => {
      const row = Array.isArray(laneRows[i]) ? (laneRows[i] as unknown[]) : [];
      const wait = Number(row[1]);
      return {
        lane,
        size: Number(row[0]) || 0,
        oldestWaitMs: Number.isFinite(wait) && wait >= 0 ? wait : null,
      };
    }),
    delayed: Number(delayed) || 0,
    active: Number(active) || 0,
    totals: {
      enqueued: t[0] ?? 0,
      succeeded: t[1] ?? 0,
      failed: t[2] ?? 0,
      dead: t[3] ?? 0,
      canceled: t[4] ?? 0,
    },
    deadKept: Number(deadKept) || 0,
    hosts: (Array.isArray(hosts) ? hosts : []).map(decodeHost),
    history: (Array.isArray(history) ? history : [])
      .map(decodeSample)
      .filter((s): s is HistorySample => s !== null),
  };
}
