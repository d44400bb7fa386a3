/**
 * The host/child protocol of the process pool: one owner per busy slot.
 *
 * A slot is one child and its slot tokens (`<slot>.0` .. `<slot>.<prefetch>`). Who may lease
 * for those tokens, and settle what they hold, is always exactly one party:
 *
 * - **The host owns an idle slot.** It leases tasks for the slot's free tokens with the claim
 *   script and hands them to the child in one `run` message. From then on the slot is busy.
 * - **The child owns a busy slot.** It runs its line of tasks one at a time, in order, and ends
 *   every run itself with the finish script on its own Redis connection (successes, failures,
 *   and at a drain the tasks it gives back), leasing in the same call the next task for each of
 *   its free tokens. It keeps at most two finish calls out, each on tokens the other does not
 *   name (child-slot.ts). When its line is empty and no call is out, it says so (`idle`) and the
 *   slot is the host's again.
 * - **The host takes a slot back when its child dies** (crash, timeout kill, exit): it fails the
 *   run the child was in, gives back the tasks it had not started, and frees every token of the
 *   slot, giving back any task a token still holds that the child never reported (a finish
 *   reply it got but could not report). Only then does it start a new child in the slot.
 *
 * Messages go one way from child to host in `report`: the runs ended since the last one (how
 * the finish script ended each, for logs and metrics) and whether the child is idle. A busy child
 * reports within 20 ms, an idle one at once. What a busy child holds, and which run it is in since
 * when, it keeps on its run board (run-board.ts), where the host reads it when it must act: its
 * renewals cover every task the child leased itself, a run the child then hangs in, even
 * synchronously, is timed and killed like any other, and a dead child's run is failed. `ready`
 * and `init-error` come once at start; `fatal` names an uncaught error just before the child
 * exits (the run it was in fails with that error).
 *
 * Host to child: `run` (only to an idle child), `abort` (fires a run's AbortSignal at the end of
 * a shutdown's grace), `drain` (shutdown: finish the run you are in, lease nothing more, give
 * back the rest of your line, then say idle), `stop` (an idle child exits).
 *
 * Messages go over Node's IPC channel with JSON serialization (measured faster than 'advanced'
 * for these small objects).
 */
import type { Priority } from '../../shared/priority.js';
import type { EndOutcome } from '../engine/host-scripts.js';

/** A task handed to a child. */
export interface RunTask {
  id: string;
  type: string;
  payload: unknown;
  attempt: number;
  maxAttempts: number;
  priority: Priority;
}

/** A leased task in a slot's line: with its slot token, lease id and timeout. */
export interface LeasedTask {
  token: string;
  /** The record's `claims` at the lease: proves ownership to the finish script. */
  lease: string;
  timeoutMs: number;
  task: RunTask;
}

/** A run's failure, as the child reports it. */
export interface RunError {
  name: string;
  message: string;
  stack?: string;
  /** True for UnrecoverableError, an invalid payload or an unknown type: no retry. */
  unrecoverable: boolean;
}

/** One run a child ended: how the run went, and how the finish script recorded it. */
export interface EndedRun {
  id: string;
  type: string;
  attempt: number;
  /** Wall time of the run in the child, ms (0 for a task given back unstarted). */
  ms: number;
  /** False when the handler failed (or the record could not be read). */
  ok: boolean;
  error?: RunError;
  outcome: EndOutcome;
}

/** Host → child. */
export type ParentMessage =
  | { t: 'run'; tasks: LeasedTask[] }
  | { t: 'abort'; id: string; reason: string }
  | { t: 'drain' }
  | { t: 'stop' };

/** Child → host. */
export type ChildMessage =
  | { t: 'ready'; pid: number }
  | { t: 'init-error'; message: string }
  | {
      t: 'report';
      ended: EndedRun[];
      /** Nothing to run, nothing to end, no call out: the slot is the host's again. */
      idle: boolean;
      /** Resident memory when the child has a limit, else 0. */
      rssBytes: number;
    }
  | { t: 'fatal'; error: RunError };

/**
 * What a child needs to own its slot. Passed in the FORKLIFT_CHILD environment variable (JSON;
 * internal between a host and its children).
 */
export interface ChildConfig {
  redisUrl: string;
  queue: string;
  namespace: string;
  /** The queue's shard count, when more than 1 (absent: 1). */
  shards?: number;
  hostId: string;
  /** The host's pid: a child whose parent is no longer this process is an orphan and exits. */
  hostPid: number;
  /** This slot's tokens (1 + prefetch): how many tasks its line holds at most. */
  tokens: string[];
  leaseMs: number;
  /** Lane weights [high, normal, low], or null for strict priority. */
  weights: [number, number, number] | null;
  /** Lease no task that would take the child past this many runs (null: no limit). */
  maxTasks: number | null;
  /** Start nothing more once resident memory passes this (null: no limit). */
  maxRssBytes: number | null;
}
