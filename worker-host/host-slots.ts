/**
 * The host's own part in ending runs (pool/protocol.ts): a busy child ends its runs itself, so
 * the host writes to Redis only for slots it owns. It hands what a claim leased to the idle
 * slots it was leased for, ends what a dead child held (the run it was in fails, the rest goes
 * back unstarted, every token of the slot is freed), and logs and counts the runs children
 * report.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { toLeasedTask } from './engine/claimed-task.js';
import type { ClaimedTask, EngineScripts, RunEnd } from './engine/host-scripts.js';
import type { HostMetrics } from './metrics.js';
import { errorText } from './pool/child-run.js';
import type { Offer, ProcessPool, SlotLoss } from './pool/pool.js';
import type { EndedRun, LeasedTask } from './pool/protocol.js';

/** How long the call that ends a dead child's tasks may take before it is tried again. */
const END_CALL_MS = 30_000;

/** `promise`, or a rejection after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What the host's slot work needs. */
export interface HostSlotsOptions {
  scripts: EngineScripts;
  log: Logger;
  /** Keeps track of a call in flight (so shutdown can wait for it). */
  track: <T>(promise: Promise<T>) => Promise<T>;
}

/** The host's writes for the slots it owns. */
export class HostSlots {
  /** Set once the host stops: a call that keeps failing is given up after a few tries. */
  stopping = false;
  /**
   * Set once running tasks were told to abort (the end of a shutdown's grace): the run a child
   * was in when it went is given back, not failed.
   */
  abortedForShutdown = false;
  metrics: HostMetrics | undefined;

  constructor(private readonly o: HostSlotsOptions) {}

  /** Logs (and counts) the runs a child ended. */
  ended(runs: readonly EndedRun[]): void {
    this.metrics?.finished(runs);
    const { log } = this.o;
    for (const run of runs) {
      const about = { taskId: run.id, type: run.type, attempt: run.attempt };
      if (run.outcome === 'released') {
        log.debug(about, 'task given back unstarted or aborted, attempt refunded');
      } else if (!run.ok && run.error) {
        log[run.error.unrecoverable ? 'error' : 'warn'](
          { ...about, error: run.error.message, errorName: run.error.name },
          'task attempt failed',
        );
      } else if (run.outcome === 'succeeded') log.debug(about, 'task succeeded');
      if (run.outcome === 'dead') log.error(about, 'task is dead');
      if (run.outcome === 'lost')
        log.warn(about, 'lease was lost before the run ended; its outcome was not stored');
    }
  }

  /**
   * Hands what a claim leased to the offered slots. A record that does not decode is sent to
   * dead first, while its slot is still the host's; a slot that no longer takes its tasks (its
   * child died, or the host is closing) gets them given back.
   */
  async handOut(
    pool: ProcessPool,
    offers: readonly Offer[],
    leased: readonly ClaimedTask[],
  ): Promise<void> {
    const { scripts, log } = this.o;
    for (const offer of offers) {
      const tasks: LeasedTask[] = [];
      const corrupt: RunEnd[] = [];
      for (const claimed of leased) {
        if (!offer.tokens.includes(claimed.token)) continue;
        const decoded = toLeasedTask(claimed);
        if ('task' in decoded) tasks.push(decoded);
        else {
          log.error(
            { taskId: claimed.id, error: decoded.error },
            'task record is corrupted; sending it to dead',
          );
          corrupt.push(decoded.end);
        }
      }
      if (corrupt.length > 0) {
        await scripts.finish(corrupt, { free: true }).catch((error: unknown) => {
          log.warn({ err: error }, 'could not send a corrupted record to dead; it will be reaped');
        });
      }
      if (!pool.handOut(offer.slot, tasks)) {
        const runs = tasks.map(releaseOf);
        this.o.track(scripts.finish(runs, { free: true })).catch((error: unknown) => {
          log.warn({ err: error }, 'could not give back tasks its slot no longer takes');
        });
      }
    }
  }

  /**
   * Ends what a dead child held: its run fails with the child's error (or is given back at the
   * end of a shutdown), the rest goes back unstarted, and every token of the slot is freed,
   * giving back any task a token holds that the child never put on its board. Sent again until
   * Redis answers (the call is safe to re-send), or, once the host is stopping, a few times.
   */
  async endLoss(loss: SlotLoss): Promise<void> {
    const { scripts, log } = this.o;
    const { running, error, waiting, tokens } = loss;
    this.metrics?.lost(running, error, loss.startedAt);
    const runs: RunEnd[] = [];
    if (running && this.abortedForShutdown) runs.push(releaseOf(running));
    else if (running) {
      const { token, lease, task } = running;
      log[error.unrecoverable ? 'error' : 'warn'](
        {
          taskId: task.id,
          type: task.type,
          attempt: task.attempt,
          error: error.message,
          errorName: error.name,
        },
        'task attempt failed',
      );
      const kind = error.unrecoverable ? 'fatal' : 'fail';
      runs.push({ token, id: task.id, lease, kind, error: errorText(error) });
    }
    runs.push(...waiting.map(releaseOf));
    const ended = new Set(runs.map((r) => r.token));
    const others = tokens.filter((token) => !ended.has(token));
    for (let tries = 0; ; tries++) {
      try {
        const reply = await within(
          scripts.finish(runs, { free: true }, others),
          END_CALL_MS,
          'finish',
        );
        if (running && reply.outcomes[0] === 'dead')
          log.error({ taskId: running.task.id }, 'task is dead');
        return;
      } catch (err) {
        const taskIds = runs.map((r) => r.id);
        if (this.stopping && tries >= 2) {
          log.error(
            { err, taskIds },
            'could not end the tasks of a stopped child; they will be reaped',
          );
          return;
        }
        log.warn({ err, taskIds }, 'ending the tasks of a dead child failed; retrying');
        await sleep(Math.min(250 * 2 ** tries, 5_000));
      }
    }
  }
}

function releaseOf(task: LeasedTask): RunEnd {
  return { token: task.token, id: task.task.id, lease: task.lease, kind: 'release' };
}
