/**
 * The parent/child message protocol of the process pool.
 *
 * A child starts, imports its handlers module and says `ready` (or `init-error` and exits; such
 * a child is never given work). The parent then sends `run` messages carrying one or more
 * leased tasks; the child runs them one at a time, in the order received, and reports finished
 * runs in `done` messages (several per message when they finish close together), each with the
 * child's resident memory so the parent can recycle a bloated child (0 when the child does not
 * measure it: a directly settling child without a memory limit). `abort` fires the
 * AbortSignal of a run; `stop` asks an idle child to exit.
 *
 * Direct settling (when the parent gave the child a `ChildSettleConfig`): the child stores its
 * successful runs in Redis itself, with the same complete script the parent uses, leasing the
 * next task to each freed token of its own slot in that call, and tells the parent afterwards
 * in a `settled` message (what it stored, what it leased, what it could not decode), gathered
 * over up to 20 ms (child-reports.ts). Before each run it writes the run to its scoreboard
 * (FORKLIFT_CHILD_SCOREBOARD, scoreboard.ts), which tells the parent what the reports have not
 * yet; every report carries the sequence number of the last scoreboard write. The parent
 * stays the bookkeeper (leases, timeouts, crashes, shutdown) but is off the task's path: a task
 * costs one round trip from the child to Redis. Failed runs still go to the parent in `done`,
 * and so do successes the child could not store (Redis unreachable). `claiming` tells the child
 * whether it may lease more (off while its slot is recycled). `give-back` (host shutdown, or a
 * child past its memory limit) tells it to finish the run it is in, start nothing more, and hand
 * back in `given-back` every task in its line, and any that reaches it later, so the host
 * releases them at once (attempt refunded) instead of running them on a child that is going.
 *
 * Every `done` and `settled` names the run the child is in or starts next (`head`), so the
 * parent knows which task a timeout or a crash belongs to even when its own messages and the
 * child's leases crossed.
 *
 * Messages go over Node's IPC channel with JSON serialization (measured faster than
 * 'advanced' for these small objects).
 */
import type { Priority } from '../../shared/priority.js';

/** A task handed to a child. */
export interface RunTask {
  id: string;
  type: string;
  payload: unknown;
  attempt: number;
  maxAttempts: number;
  priority: Priority;
}

/** A task as the parent hands it to a child: with its slot token, lease id and timeout. */
export interface LeasedTask {
  token: string;
  /** The record's `claims` at the lease: proves ownership to the complete script. */
  lease: string;
  timeoutMs: number;
  task: RunTask;
}

/** A leased task whose record did not decode: the parent sends it to dead. */
export interface CorruptClaim {
  token: string;
  id: string;
  fields: string[];
}

/** A run's failure, as the child reports it. */
export interface RunError {
  name: string;
  message: string;
  stack?: string;
  /** True for UnrecoverableError, an invalid payload or an unknown type: no retry. */
  unrecoverable: boolean;
}

/**
 * The outcome of one run; `ms` is its wall time in the child. A success carries its result as
 * JSON text (absent when the child stored it itself).
 */
export type RunOutcome =
  | { id: string; ms: number; ok: true; resultJson?: string }
  | { id: string; ms: number; ok: false; error: RunError };

/** Parent → child. */
export type ParentMessage =
  | { t: 'run'; tasks: LeasedTask[] }
  | { t: 'claiming'; on: boolean }
  | { t: 'give-back' }
  | { t: 'abort'; id: string; reason: string }
  | { t: 'stop' };

/** Child → parent. */
export type ChildMessage =
  | { t: 'ready'; pid: number }
  | { t: 'init-error'; message: string }
  | {
      t: 'done';
      results: RunOutcome[];
      head: string | null;
      /** The child's last scoreboard write (0 without a scoreboard). */
      seq: number;
      rssBytes: number;
    }
  | {
      t: 'settled';
      /** The runs stored, in order, and per run whether its lease still held (else nothing stored). */
      ids: string[];
      stored: boolean[];
      /** Per run, its wall time in ms. */
      ms: number[];
      /** Tasks leased to this child's freed tokens, which it will run (payloads left out). */
      claimed: LeasedTask[];
      corrupt: CorruptClaim[];
      head: string | null;
      seq: number;
      rssBytes: number;
    }
  | { t: 'given-back'; ids: string[]; head: string | null; seq: number };

/**
 * What a child needs to settle its runs in Redis itself. Passed in the FORKLIFT_CHILD_SETTLE
 * environment variable (JSON; internal between a host and its children).
 */
export interface ChildSettleConfig {
  redisUrl: string;
  queue: string;
  namespace: string;
  hostId: string;
  leaseMs: number;
  /** Slot tokens per child (1 + prefetch): how many tasks its line holds at most. */
  lineSize: number;
  /** Lane weights [high, normal, low], or null for strict priority. */
  weights: [number, number, number] | null;
  /** Lease no task that would take the child past this many runs (null: no limit). */
  maxTasks: number | null;
  /** Lease nothing more once resident memory passes this (null: no limit). */
  maxRssBytes: number | null;
}
