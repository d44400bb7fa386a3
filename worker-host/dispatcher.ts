/**
 * The worker host's dispatcher: settles every run in Redis and hands leased tasks to the pool.
 *
 * Slot tokens (slot-tokens.ts). Only the free tokens of a ready child are offered to the claim
 * script, so a task is never handed to a busy process (the semaphore of the original design).
 * The host's token list in Redis mirrors the free tokens: the scripts move tokens as they lease
 * and finish tasks, and every heartbeat re-syncs it, so capacity is visible in Redis and a
 * crash cannot leak it (a dead host's list expires with its heartbeat).
 *
 * Waiting (claim-loop.ts). When free tokens find no work, the loop blocks in BLPOP until an
 * enqueue, a due delayed task or a freed token wakes it: an idle host costs no CPU.
 *
 * One round trip per task, or less. When runs end, one script call stores their outcomes and
 * leases the next task to each freed token; a new claim is sent only when that finds nothing.
 * Successful runs make that call from the child itself (direct settling, pool/protocol.ts): the
 * dispatcher then only mirrors what the child reports (onSettled), off the task's path.
 *
 * Lease renewal and the maintenance tick (heartbeat, reap, promote) are in upkeep.ts.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CorruptRecordError } from '../shared/errors.js';
import type { QueueKeys } from '../shared/keys.js';
import { pairsToObject } from '../shared/task-record.js';
import { ClaimLoop } from './claim-loop.js';
import { type Runnable, toRunnable } from './engine/claimed-task.js';
import type { ClaimedTask, HostScripts } from './engine/host-scripts.js';
import type { LaneOrder } from './engine/lane-order.js';
import type { ProcessPool } from './pool/pool.js';
import type { RunError } from './pool/protocol.js';
import type { FinishedRun, SettledReport, SlotTask } from './pool/slot-line.js';
import { SlotTokens } from './slot-tokens.js';
import { startUpkeep } from './upkeep.js';

/** Timing knobs of the dispatcher. */
export interface DispatcherTiming {
  leaseMs: number;
  tickMs: number;
  maxBlockMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs the claim loop and settles every run in Redis. */
export class Dispatcher {
  private readonly tokens: SlotTokens;
  private readonly claimLoop: ClaimLoop;
  /** Per-run debug lines cost an object per task on the hot path: built only when logged. */
  private readonly debug: boolean;
  private readonly pending = new Set<Promise<unknown>>();
  private stopUpkeep: () => void = () => {};
  /** Set during shutdown once running tasks were told to abort: their failures are released. */
  private abortedForShutdown = false;

  constructor(
    private readonly scripts: HostScripts,
    commands: Redis,
    blocking: Redis,
    keys: QueueKeys,
    private readonly pool: ProcessPool,
    private readonly laneOrder: LaneOrder,
    private readonly timing: DispatcherTiming,
    private readonly log: Logger,
    slots: number,
    tokensPerSlot: number,
  ) {
    this.tokens = new SlotTokens(slots, tokensPerSlot);
    this.debug = log.isLevelEnabled('debug');
    this.claimLoop = new ClaimLoop({
      scripts,
      commands,
      blocking,
      keys,
      tokens: this.tokens,
      accepting: (slot) => pool.accepting(slot),
      laneOrder,
      leaseMs: timing.leaseMs,
      maxBlockMs: timing.maxBlockMs,
      log,
      adopt: (claimed) => this.adopt(claimed),
    });
  }

  /** All slot tokens of this host. */
  get allTokens(): string[] {
    return this.tokens.all();
  }

  /** Starts the loop and the timers (the pool is started by the caller). */
  start(): void {
    this.claimLoop.start();
    this.stopUpkeep = startUpkeep({
      scripts: this.scripts,
      tokens: this.tokens,
      accepting: (slot) => this.pool.accepting(slot),
      leaseMs: this.timing.leaseMs,
      tickMs: this.timing.tickMs,
      log: this.log,
      track: (promise) => void this.track(promise),
      beforeRenew: () => this.pool.refreshHeads(),
    });
  }

  /** A slot became ready: let the loop offer its tokens. */
  onSlotReady(): void {
    this.claimLoop.wake();
  }

  /**
   * Runs ended (those a child reported together): store the successes in one call that also
   * leases the next task to each freed token; fail the failures one by one.
   */
  onOutcomes(slot: number, finished: readonly FinishedRun[]): void {
    const succeeded: SlotTask[] = [];
    const results: string[] = [];
    for (const { task, outcome } of finished) {
      if (outcome.ok) {
        succeeded.push(task);
        results.push(outcome.resultJson ?? 'null');
        if (this.debug) {
          this.log.debug(
            { taskId: task.task.id, type: task.task.type, attempt: task.task.attempt },
            'task succeeded',
          );
        }
      } else if (this.abortedForShutdown) {
        this.release([task], 'aborted by shutdown');
      } else {
        this.failRun(slot, task, outcome.error);
      }
    }
    if (succeeded.length === 0) return;
    const next = this.nextClaim(slot);
    const runs = succeeded.map((task, i) => ({
      token: task.token,
      id: task.task.id,
      lease: task.lease,
      resultJson: results[i] ?? 'null',
    }));
    this.settle(succeeded, async () => {
      const reply = await this.scripts.complete(runs, next);
      reply.stored.forEach((stored, i) => {
        if (!stored) this.warnLost(succeeded[i]);
      });
      return reply.next;
    });
  }

  /**
   * A child stored successful runs itself and leased the next tasks to their tokens (they are
   * in its line already): mark those tokens busy with their new tasks, free the others, and send
   * leased records that do not decode to dead.
   */
  onSettled(slot: number, { finished, stored, claimed, corrupt, tokens }: SettledReport): void {
    finished.forEach(({ task }, i) => {
      if (!stored[i]) this.warnLost(task);
      else if (this.debug) {
        this.log.debug(
          { taskId: task.task.id, type: task.task.type, attempt: task.task.attempt },
          'task succeeded',
        );
      }
    });
    for (const [token, holder] of tokens) {
      if (holder) this.tokens.busy(token, holder);
      else this.freeToken(token);
    }
    for (const task of claimed) {
      if (this.debug) {
        this.log.debug(
          { taskId: task.task.id, type: task.task.type, attempt: task.task.attempt, slot },
          'task started',
        );
      }
    }
    for (const claim of corrupt) this.adopt(claim);
  }

  /** A child handed back tasks it had not started (shutdown): release them, attempt refunded. */
  onGivenBack(tasks: SlotTask[]): void {
    this.release(tasks, 'handed back unstarted at shutdown');
  }

  /** The pool learnt of a run from a child's scoreboard: its token is busy with it. */
  onDiscovered(task: SlotTask): void {
    this.tokens.busy(task.token, task);
  }

  /** A child died: fail the run it was in, release the tasks it had not started. */
  onLost(slot: number, running: SlotTask | undefined, error: RunError, waiting: SlotTask[]): void {
    if (running) {
      if (this.abortedForShutdown) this.release([running], 'child stopped by shutdown');
      else this.failRun(slot, running, error);
    }
    if (waiting.length > 0) this.release(waiting, 'child died before starting them');
  }

  private failRun(slot: number, task: SlotTask, error: RunError): void {
    const next = this.nextClaim(slot);
    const log = error.unrecoverable ? this.log.error.bind(this.log) : this.log.warn.bind(this.log);
    log(
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
      const reply = await this.scripts.fail(
        task.token,
        task.task.id,
        task.lease,
        message,
        error.unrecoverable,
        next,
      );
      if (!reply.stored) this.warnLost(task);
      else if (reply.outcome === 'dead') {
        this.log.error({ taskId: task.task.id, type: task.task.type }, 'task is dead');
      }
      return reply.next ? [reply.next] : [];
    });
  }

  private nextClaim(slot: number): { leaseMs: number; order: string } | undefined {
    return this.claimLoop.isRunning && this.pool.accepting(slot)
      ? { leaseMs: this.timing.leaseMs, order: this.laneOrder.next() }
      : undefined;
  }

  private warnLost(task: SlotTask | undefined): void {
    this.log.warn(
      { taskId: task?.task.id },
      'lease was lost before the run ended; its outcome was not stored',
    );
  }

  /**
   * Runs a finishing call (complete or fail), retrying while Redis is unreachable, then hands
   * each leased next task to its token and frees the tokens that got none. Until then the
   * tokens stay busy with their tasks, so lease renewals keep covering them.
   */
  private settle(tasks: readonly SlotTask[], call: () => Promise<ClaimedTask[]>): void {
    const attempt = async (): Promise<void> => {
      for (let tries = 0; ; tries++) {
        try {
          const leased = await call();
          const reused = new Set<string>();
          for (const claimed of leased) {
            reused.add(claimed.token);
            this.adopt(claimed);
          }
          for (const task of tasks) if (!reused.has(task.token)) this.freeToken(task.token);
          return;
        } catch (error) {
          const ids = tasks.map((t) => t.task.id);
          if (!this.claimLoop.isRunning && tries >= 3) {
            this.log.error(
              { taskIds: ids, err: error },
              'could not store the outcome; the lease will expire and the task will run again',
            );
            for (const task of tasks) this.freeToken(task.token);
            return;
          }
          this.log.warn({ taskIds: ids, err: error }, 'storing the outcome failed; retrying');
          await sleep(Math.min(250 * 2 ** tries, 5_000));
        }
      }
    };
    void this.track(attempt());
  }

  private release(tasks: SlotTask[], why: string): void {
    this.log.info({ taskIds: tasks.map((t) => t.task.id), why }, 'releasing tasks');
    const items = tasks.map((t) => [t.task.id, t.lease, t.token] as const);
    void this.track(
      this.scripts.release(items).then(
        () => {
          for (const t of tasks) this.freeToken(t.token);
        },
        (error: unknown) => {
          this.log.error(
            { err: error, taskIds: tasks.map((t) => t.task.id) },
            'release failed; the leases will expire',
          );
          for (const t of tasks) this.freeToken(t.token);
        },
      ),
    );
  }

  /** Hands a freshly leased task to its token's slot (or sends a corrupt one to dead). */
  private adopt(claimed: ClaimedTask): void {
    const slot = this.tokens.slotOf(claimed.token);
    if (slot === undefined) {
      this.log.error(
        { token: claimed.token, taskId: claimed.id },
        'claim returned an unknown token',
      );
      return;
    }
    let runnable: Runnable;
    try {
      runnable = toRunnable(claimed.id, claimed.fields);
    } catch (error) {
      const message = error instanceof CorruptRecordError ? error.message : String(error);
      this.log.error(
        { taskId: claimed.id, error: message },
        'task record is corrupted; sending it to dead',
      );
      const task: SlotTask = {
        token: claimed.token,
        lease: pairsToObject(claimed.fields).claims ?? '0',
        timeoutMs: 0,
        task: {
          id: claimed.id,
          type: '?',
          payload: null,
          attempt: 0,
          maxAttempts: 0,
          priority: 'normal',
        },
      };
      this.tokens.busy(claimed.token, task);
      this.failRun(slot, task, { name: 'CorruptRecordError', message, unrecoverable: true });
      return;
    }
    const task: SlotTask = { token: claimed.token, ...runnable };
    this.tokens.busy(claimed.token, task);
    if (!this.pool.accepting(slot)) {
      // The child died, is being recycled, or the host is closing since the claim was sent.
      this.release([task], 'its slot stopped taking work');
      return;
    }
    try {
      this.pool.assign(slot, task);
      if (this.debug) {
        this.log.debug(
          {
            taskId: task.task.id,
            type: task.task.type,
            attempt: task.task.attempt,
            slot,
          },
          'task started',
        );
      }
    } catch {
      this.release([task], 'its child is gone');
    }
  }

  private freeToken(token: string): void {
    if (this.tokens.free(token)) this.claimLoop.wake();
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise)).catch(() => {});
    return promise;
  }

  /** Stops claiming; the loop ends and idle waits are interrupted. */
  async stopClaiming(): Promise<void> {
    await this.claimLoop.stop();
  }

  /** Stops the renewal and maintenance timers (last step of shutdown). */
  stopTimers(): void {
    this.stopUpkeep();
  }

  /** From now on, failed runs are released (attempt refunded) instead of failed. */
  markAbortedForShutdown(): void {
    this.abortedForShutdown = true;
  }

  /** Releases tasks a killed pool still held (attempts refunded). */
  async releaseHeld(held: SlotTask[]): Promise<void> {
    if (held.length === 0) return;
    this.log.info({ taskIds: held.map((t) => t.task.id) }, 'releasing unfinished tasks');
    await this.scripts.release(held.map((t) => [t.task.id, t.lease, t.token] as const));
  }

  /** Waits for in-flight Redis calls (settles, releases) to end. */
  async drainPending(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
