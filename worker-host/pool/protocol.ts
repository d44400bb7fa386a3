/**
 * The parent/child message protocol of the process pool.
 *
 * A child starts, imports its handlers module and says `ready` (or `init-error` and exits; such
 * a child is never given work). The parent then sends `run` messages carrying one or more
 * tasks; the child runs them one at a time, in the order received, and reports finished runs
 * in `done` messages (several per message when they finish close together), each with the
 * child's resident memory so the parent can recycle a bloated child. `abort` fires the
 * AbortSignal of a run; `stop` asks an idle child to exit.
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

/** A run's failure, as the child reports it. */
export interface RunError {
  name: string;
  message: string;
  stack?: string;
  /** True for UnrecoverableError, an invalid payload or an unknown type: no retry. */
  unrecoverable: boolean;
}

/** The outcome of one run. */
export type RunOutcome =
  | { id: string; ok: true; result: unknown }
  | { id: string; ok: false; error: RunError };

/** Parent → child. */
export type ParentMessage =
  | { t: 'run'; tasks: RunTask[] }
  | { t: 'abort'; id: string; reason: string }
  | { t: 'stop' };

/** Child → parent. */
export type ChildMessage =
  | { t: 'ready'; pid: number }
  | { t: 'init-error'; message: string }
  | { t: 'done'; results: RunOutcome[]; rssBytes: number };
