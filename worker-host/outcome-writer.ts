/**
 * The host's writes that end runs in Redis: storing successes (`complete`), recording failures
 * (`fail`) and giving leased tasks back (`release`, attempt refunded).
 *
 * Retry policy: a complete or fail call is retried with a growing pause while Redis is away, for
 * as long as the host keeps claiming; once it stops (shutdown), after three more tries the run is
 * given up and its lease left to expire, so the task runs again elsewhere. Until a call
 * succeeds its tokens stay busy, so lease renewals keep covering the tasks. A failed release is
 * given up at once (the leases expire). Every call is tracked, so shutdown can wait for them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ClaimedTask, HostScripts } from './engine/host-scripts.js';
import type { RunError } from './pool/protocol.js';
import type { SlotTask } from './pool/slot-line.js';

/** A next task to lease with a finishing call. */
export type NextClaim = { leaseMs: number; order: string } | undefined;

/** What the writer needs from the host. */
export interface OutcomeWriterOptions {
  scripts: HostScripts;
  log: Logger;
  /** Tasks leased to `offered` tokens arrived (the tokens that got none are free again). */
  handOut(offered: readonly string[], leased: readonly ClaimedTask[]): void;
  /** Whether to keep retrying a call Redis refuses (true until shutdown). */
  keepTrying(): boolean;
}

/** Writes run outcomes to Redis with one retry policy. */
export class OutcomeWriter {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly o: OutcomeWriterOptions) {}

  /** Stores successful runs in one call, leasing the next task to their tokens with `next`. */
  complete(tasks: readonly SlotTask[], resultsJson: readonly string[], next: NextClaim): void {
    const runs = tasks.map((task, i) => ({
      token: task.token,
      id: task.task.id,
      lease: task.lease,
      resultJson: resultsJson[i] ?? 'null',
    }));
    this.settle(tasks, async () => {
      const reply = await this.o.scripts.complete(runs, next);
      reply.stored.forEach((stored, i) => {
        if (!stored) this.lost(tasks[i]);
      });
      return reply.next;
    });
  }

  /** Records a failed attempt (retry or dead by policy), leasing the next task with `next`. */
  fail(task: SlotTask, error: RunError, next: NextClaim): void {
    this.o.log[error.unrecoverable ? 'error' : 'warn'](
      {
        taskId: task.task.id,
        type: task.task.type,
        attempt: task.task.attempt,
        error: error.message,
        errorName: error.name,
      },
      'task attempt failed',
    );
    const message =
      error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
    this.settle([task], async () => {
      const reply = await this.o.scripts.fail(
        task.token,
        task.task.id,
        task.lease,
        message,
        error.unrecoverable,
        next,
      );
      if (!reply.stored) this.lost(task);
      else if (reply.outcome === 'dead') {
        this.o.log.error({ taskId: task.task.id, type: task.task.type }, 'task is dead');
      }
      return reply.next ? [reply.next] : [];
    });
  }

  /** Gives leased tasks back to the head of their lanes (attempt refunded), then frees them. */
  release(tasks: readonly SlotTask[], why: string): void {
    const done = this.releaseNow(tasks, why).catch((error: unknown) => {
      this.o.log.error(
        { err: error, taskIds: tasks.map((t) => t.task.id) },
        'release failed; the leases will expire',
      );
    });
    void this.track(done.then(() => this.o.handOut(tokensOf(tasks), [])));
  }

  /** Releases tasks now; rejects when Redis does. */
  releaseNow(tasks: readonly SlotTask[], why: string): Promise<unknown> {
    if (tasks.length === 0) return Promise.resolve();
    this.o.log.info({ taskIds: tasks.map((t) => t.task.id), why }, 'releasing tasks');
    return this.o.scripts.release(tasks.map((t) => [t.task.id, t.lease, t.token] as const));
  }

  /** Waits for the calls in flight to end. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Keeps track of a call in flight (so `drain` waits for it). */
  track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise)).catch(() => {});
    return promise;
  }

  /**
   * Runs a finishing call by the retry policy, then hands out what it leased to the tokens of
   * `tasks` (the others are free).
   */
  private settle(tasks: readonly SlotTask[], call: () => Promise<ClaimedTask[]>): void {
    const attempt = async (): Promise<void> => {
      for (let tries = 0; ; tries++) {
        try {
          this.o.handOut(tokensOf(tasks), await call());
          return;
        } catch (error) {
          const ids = tasks.map((t) => t.task.id);
          if (!this.o.keepTrying() && tries >= 3) {
            this.o.log.error(
              { taskIds: ids, err: error },
              'could not store the outcome; the lease will expire and the task will run again',
            );
            this.o.handOut(tokensOf(tasks), []);
            return;
          }
          this.o.log.warn({ taskIds: ids, err: error }, 'storing the outcome failed; retrying');
          await sleep(Math.min(250 * 2 ** tries, 5_000));
        }
      }
    };
    void this.track(attempt());
  }

  /** Logs a run whose lease was lost before its outcome could be stored. */
  lost(task: SlotTask | undefined): void {
    this.o.log.warn(
      { taskId: task?.task.id },
      'lease was lost before the run ended; its outcome was not stored',
    );
  }
}

function tokensOf(tasks: readonly SlotTask[]): string[] {
  return tasks.map((t) => t.token);
}
