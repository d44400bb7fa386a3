/**
 * What an operator sees of a queue: the documents the dashboard renders and the edge API's
 * operator routes return (`GET /v1/overview`, `GET /v1/tasks`, `GET /v1/waiting/{list}`,
 * `GET /v1/dead`, ...). `QueueClient` produces each of them in one Redis call (one script), so
 * the same data reaches a browser through the dashboard and a script through `/v1`.
 *
 * The overview's times are milliseconds since the epoch (Redis's clock), for arithmetic and
 * charts; a task's times are ISO 8601 strings, as in `TaskView`. Durations are milliseconds.
 */
import type { Priority } from './priority.js';
import type { TaskState } from './task-state.js';

/** One priority lane of the overview. */
export interface LaneView {
  lane: Priority;
  /** Tasks waiting in the lane. */
  size: number;
  /** How long the task at the head of the lane has waited to run, or null when it is empty. */
  oldestWaitMs: number | null;
}

/**
 * One sample of the queue's running totals, taken at most every `HISTORY_INTERVAL_MS` by the
 * overview snapshot and by the worker hosts' upkeep. Differences between samples give the
 * throughput; the history is bounded (`HISTORY_MAX_SAMPLES`) and expires when nobody samples.
 */
export interface HistorySample {
  at: number;
  enqueued: number;
  succeeded: number;
  failed: number;
  dead: number;
}

/** A worker host's slots, read from its token hash (the semaphore) in Redis. */
export interface SlotCounts {
  /** Slots with no task. */
  free: number;
  /** Slots whose child runs a task. */
  busy: number;
  /** Tasks leased ahead of their run (`--prefetch`), waiting in a busy slot. */
  prefetched: number;
}

/** A live worker host, as its registration, heartbeat and token hash describe it. */
export interface HostView {
  id: string;
  hostname: string | null;
  pid: number | null;
  concurrency: number;
  prefetch: number;
  startedAt: number | null;
  /** When its last heartbeat was written. */
  lastHeartbeatAt: number | null;
  /** When it is presumed dead unless it beats again. */
  expiresAt: number;
  /** Live child processes at the last heartbeat. */
  children: number | null;
  /** Resident memory of the host and its children at the last heartbeat, in bytes. */
  rssBytes: number | null;
  slots: SlotCounts;
}

/** Everything the overview and hosts pages show, read in one call. */
export interface QueueOverview {
  queue: string;
  /** Redis's clock when the snapshot was taken. */
  now: number;
  lanes: LaneView[];
  delayed: number;
  active: number;
  /** Running totals since the queue was created. */
  totals: {
    enqueued: number;
    succeeded: number;
    failed: number;
    dead: number;
    canceled: number;
  };
  /** Dead tasks whose records are still kept (the dead-letter list's length). */
  deadKept: number;
  hosts: HostView[];
  /** Oldest first. */
  history: HistorySample[];
}

/** One line of a task list (search results, lanes, delayed, dead letters). */
export interface TaskSummary {
  id: string;
  type: string;
  state: TaskState;
  priority: Priority;
  attempts: number;
  maxAttempts: number;
  enqueuedAt: string | null;
  /** When a delayed or failed task becomes due, or null. */
  runAt: string | null;
  finishedAt: string | null;
  /** The last error, or null. */
  error: string | null;
  idempotencyKey: string | null;
}

/** What a task search filters on; every field is optional and they combine with AND. */
export interface TaskQuery {
  type?: string;
  state?: TaskState;
  /** Enqueued at or after (ms). */
  from?: number;
  /** Enqueued before (ms). */
  to?: number;
  /** Opaque position returned by the previous page. */
  cursor?: string;
  /** Page size. @default 50 */
  limit?: number;
}

/** A page of tasks; `cursor` is null on the last page. */
export interface TaskPage {
  tasks: TaskSummary[];
  cursor: string | null;
}

/** The waiting lists an operator can page through and act on. */
export type WaitingList = Priority | 'delayed';

/** A filter over dead letters for the bulk actions. */
export interface DeadFilter {
  type?: string;
  /** Dead at or after (ms). */
  from?: number;
  /** Dead before (ms). */
  to?: number;
}

/** How far a bulk action over dead letters got; call again with `cursor` until `done`. */
export interface BulkProgress {
  /** Tasks retried or deleted by this call. */
  processed: number;
  done: boolean;
  cursor: string | null;
}
