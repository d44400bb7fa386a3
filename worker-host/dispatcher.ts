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
 * The Redis writes that end runs, with their retry policy, are in outcome-writer.ts; lease
 * renewal and the maintenance tick (heartbeat, reap, promote) in upkeep.ts.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CorruptRecordError } from '../shared/errors.js';
import type { QueueKeys } from '../shared/keys.js';
import { ClaimLoop } from './claim-loop.js';
import { corruptRunnable, type Runnable, toRunnable } from './engine/claimed-task.js';
import type { ClaimedTask, HostScripts } from './engine/host-scripts.js';
import type { LaneOrder } from './engine/lane-order.js';
import { type NextClaim, OutcomeWriter } from './outcome-writer.js';
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

/** Runs the claim loop and hands leased tasks to the pool. */
export class Dispatcher {
  private readonly tokens: SlotTokens;
  private readonly claimLoop: ClaimLoop;
  private readonly writer: OutcomeWriter;
  /** Per-run debug lines cost an object per task on the hot path: built only when logged. */
  private readonly debug: boolean;
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
      handOut: (offered, leased) => this.handOut(offered, leased),
    });
    this.writer = new OutcomeWriter({
      scripts,
      log,
      handOut: (offered, leased) => this.handOut(offered, leased),
      keepTrying: () => this.claimLoop.isRunning,
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
      track: (promise) => void this.writer.track(promise),
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
        this.logRun('task succeeded', task);
      } else if (this.abortedForShutdown) {
        this.writer.release([task], 'aborted by shutdown');
      } else {
        this.writer.fail(task, outcome.error, this.nextClaim(slot));
      }
    }
    if (succeeded.length > 0) this.writer.complete(succeeded, results, this.nextClaim(slot));
  }

  /**
   * A child stored successful runs itself and leased the next tasks to their tokens (they are
   * in its line already): mark those tokens busy with their new tasks, free the others, and send
   * leased records that do not decode to dead.
   */
  onSettled(slot: number, { finished, stored, claimed, corrupt, tokens }: SettledReport): void {
    finished.forEach(({ task }, i) => {
      if (!stored[i]) this.writer.lost(task);
      else this.logRun('task succeeded', task);
    });
    for (const [token, holder] of tokens) {
      if (holder) this.tokens.busy(token, holder);
      else this.freeToken(token);
    }
    if (this.debug) for (const task of claimed) this.logRun('task started', task, slot);
    for (const claim of corrupt) this.adopt(claim);
  }

  /** A child handed back tasks it had not started (shutdown): release them, attempt refunded. */
  onGivenBack(tasks: SlotTask[]): void {
    this.writer.release(tasks, 'handed back unstarted at shutdown');
  }

  /** The pool learnt of a run from a child's scoreboard: its token is busy with it. */
  onDiscovered(task: SlotTask): void {
    this.tokens.busy(task.token, task);
  }

  /** A child died: fail the run it was in, release the tasks it had not started. */
  onLost(slot: number, running: SlotTask | undefined, error: RunError, waiting: SlotTask[]): void {
    if (running) {
      if (this.abortedForShutdown) this.writer.release([running], 'child stopped by shutdown');
      else this.writer.fail(running, error, this.nextClaim(slot));
    }
    if (waiting.length > 0) this.writer.release(waiting, 'child died before starting them');
  }

  private nextClaim(slot: number): NextClaim {
    return this.claimLoop.isRunning && this.pool.accepting(slot)
      ? { leaseMs: this.timing.leaseMs, order: this.laneOrder.next() }
      : undefined;
  }

  /** Tasks leased to `offered` tokens: each goes to its slot; the tokens that got none are free. */
  private handOut(offered: readonly string[], leased: readonly ClaimedTask[]): void {
    for (const claimed of leased) this.adopt(claimed);
    for (const token of offered) {
      if (!leased.some((claimed) => claimed.token === token)) this.freeToken(token);
    }
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
        ...corruptRunnable(claimed.id, claimed.fields),
      };
      this.tokens.busy(claimed.token, task);
      const error_: RunError = { name: 'CorruptRecordError', message, unrecoverable: true };
      this.writer.fail(task, error_, this.nextClaim(slot));
      return;
    }
    const task: SlotTask = { token: claimed.token, ...runnable };
    this.tokens.busy(claimed.token, task);
    if (!this.pool.accepting(slot)) {
      // The child died, is being recycled, or the host is closing since the claim was sent.
      this.writer.release([task], 'its slot stopped taking work');
      return;
    }
    try {
      this.pool.assign(slot, task);
      this.logRun('task started', task, slot);
    } catch {
      this.writer.release([task], 'its child is gone');
    }
  }

  /**
   * Frees a token. The work queued at this moment was offered to it already (a finishing call
   * leases the next task, a release requeues and signals), so only a loop waiting in memory for
   * a free token needs waking.
   */
  private freeToken(token: string): void {
    if (this.tokens.free(token)) this.claimLoop.wakeIfIdle();
  }

  /** A per-run debug line (built only when debug is on). */
  private logRun(message: string, task: SlotTask, slot?: number): void {
    if (!this.debug) return;
    const { id: taskId, type, attempt } = task.task;
    this.log.debug({ taskId, type, attempt, ...(slot === undefined ? {} : { slot }) }, message);
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

  /** Releases tasks a killed pool still held (attempts refunded); rejects when Redis does. */
  async releaseHeld(held: SlotTask[]): Promise<void> {
    await this.writer.releaseNow(held, 'unfinished at shutdown');
  }

  /** Waits for in-flight Redis calls (settles, releases) to end. */
  drainPending(): Promise<void> {
    return this.writer.drain();
  }
}
