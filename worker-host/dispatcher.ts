/**
 * The worker host's claim loop and the Redis side of every run.
 *
 * Slot tokens. Each child slot owns `1 + prefetch` tokens named `<slot>.<k>`. A token is
 *
 *   free ──claim sent──► claiming ──task leased──► busy ──complete/fail/release stored──► free
 *                            └──── no task ────► free       (or busy again when the same call
 *                                                             leased the next task for it)
 *
 * and only the free tokens of a ready child are offered to the claim script, so a task is
 * never handed to a busy process (the semaphore of the original design). The host's token list
 * in Redis mirrors the free tokens: the scripts move tokens as they lease and finish tasks, and
 * every heartbeat re-syncs it, so capacity is visible in Redis and a crash cannot leak it (a
 * dead host's list expires with its heartbeat).
 *
 * Waiting. When free tokens find no work, the loop blocks in BLPOP on the queue's signal list
 * and on this host's own wake list, with a timeout that ends when the earliest delayed task is
 * due (at most `maxBlockMs`). Enqueue leaves one marker on the signal list, so an idle host
 * costs no CPU and about 2-3 commands a minute, plus the maintenance tick.
 *
 * One round trip per task. When a run ends, one script call stores the outcome and leases the
 * next task for the same token; a new claim is sent only when that finds nothing.
 *
 * Maintenance, every `tickMs`: heartbeat (TTL + token sync), reap (expired leases of any host),
 * promote (due delayed tasks). Leases of running tasks are renewed in one call every lease/3.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CorruptRecordError } from '../shared/errors.js';
import type { QueueKeys } from '../shared/keys.js';
import { pairsToObject } from '../shared/task-record.js';
import { type Runnable, toRunnable } from './engine/claimed-task.js';
import type { ClaimedTask, HostScripts } from './engine/host-scripts.js';
import type { LaneOrder } from './engine/lane-order.js';
import type { FinishedRun, ProcessPool, SlotTask } from './pool/pool.js';
import type { RunError } from './pool/protocol.js';

/** Timing knobs of the dispatcher. */
export interface DispatcherTiming {
  leaseMs: number;
  tickMs: number;
  maxBlockMs: number;
}

type TokenEntry =
  | { slot: number; state: 'free' }
  | { slot: number; state: 'claiming' }
  | { slot: number; state: 'busy'; task: SlotTask };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs the claim loop and settles every run in Redis. */
export class Dispatcher {
  private readonly tokens = new Map<string, TokenEntry>();
  private running = false;
  private blocked = false;
  private wakePending = false;
  private idleWaiter: (() => void) | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly pending = new Set<Promise<unknown>>();
  private timers: NodeJS.Timeout[] = [];
  /** Set during shutdown once running tasks were told to abort: their failures are released. */
  private abortedForShutdown = false;

  constructor(
    private readonly scripts: HostScripts,
    private readonly commands: Redis,
    private readonly blocking: Redis,
    private readonly keys: QueueKeys,
    private readonly pool: ProcessPool,
    private readonly laneOrder: LaneOrder,
    private readonly timing: DispatcherTiming,
    private readonly log: Logger,
    slots: number,
    tokensPerSlot: number,
  ) {
    for (let slot = 0; slot < slots; slot++) {
      for (let k = 0; k < tokensPerSlot; k++)
        this.tokens.set(`${slot}.${k}`, { slot, state: 'free' });
    }
  }

  /** All slot tokens of this host. */
  get allTokens(): string[] {
    return [...this.tokens.keys()];
  }

  /** Starts the loop and the timers (the pool is started by the caller). */
  start(): void {
    this.running = true;
    this.loopDone = this.loop();
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const timer = setInterval(() => void this.track(fn()), ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(Math.max(100, Math.floor(this.timing.leaseMs / 3)), () => this.renewLeases());
    every(this.timing.tickMs, () => this.maintain());
    void this.track(this.maintain());
  }

  /** A slot became ready: let the loop offer its tokens. */
  onSlotReady(): void {
    this.wake();
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
        results.push(JSON.stringify(outcome.result ?? null));
        this.log.debug(
          { taskId: task.task.id, type: task.task.type, attempt: task.task.attempt },
          'task succeeded',
        );
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
    return this.running && this.pool.accepting(slot)
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
          if (!this.running && tries >= 3) {
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
    const entry = this.tokens.get(claimed.token);
    if (!entry) {
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
      this.tokens.set(claimed.token, { slot: entry.slot, state: 'busy', task });
      this.failRun(entry.slot, task, { name: 'CorruptRecordError', message, unrecoverable: true });
      return;
    }
    const task: SlotTask = { token: claimed.token, ...runnable };
    this.tokens.set(claimed.token, { slot: entry.slot, state: 'busy', task });
    if (!this.pool.accepting(entry.slot)) {
      // The child died, is being recycled, or the host is closing since the claim was sent.
      this.release([task], 'its slot stopped taking work');
      return;
    }
    try {
      this.pool.assign(entry.slot, task);
      this.log.debug(
        {
          taskId: task.task.id,
          type: task.task.type,
          attempt: task.task.attempt,
          slot: entry.slot,
        },
        'task started',
      );
    } catch {
      this.release([task], 'its child is gone');
    }
  }

  private freeToken(token: string): void {
    const entry = this.tokens.get(token);
    if (!entry) return;
    this.tokens.set(token, { slot: entry.slot, state: 'free' });
    this.wake();
  }

  /** Wakes the loop: from its in-memory wait at once, from BLPOP through the wake list. */
  private wake(): void {
    if (this.idleWaiter) {
      const resolve = this.idleWaiter;
      this.idleWaiter = undefined;
      resolve();
    } else if (this.blocked && !this.wakePending && this.running) {
      this.wakePending = true;
      const wakeKey = this.keys.wake(this.scripts.hostId);
      this.commands
        .multi()
        .rpush(wakeKey, '1')
        .pexpire(wakeKey, 60_000)
        .exec()
        .catch((error: unknown) => this.log.warn({ err: error }, 'could not wake the claim loop'));
    }
  }

  private freeTokens(): string[] {
    const free: string[] = [];
    for (const [token, entry] of this.tokens) {
      if (entry.state === 'free' && this.pool.accepting(entry.slot)) free.push(token);
    }
    return free;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      const free = this.freeTokens();
      if (free.length === 0) {
        await new Promise<void>((resolve) => {
          this.idleWaiter = resolve;
        });
        continue;
      }
      for (const token of free)
        this.tokens.set(token, { slot: this.slotOf(token), state: 'claiming' });
      let nextDelayedAt = -1;
      let claimedAll = false;
      try {
        const reply = await this.scripts.claim(free, this.timing.leaseMs, this.laneOrder.next());
        failures = 0;
        nextDelayedAt = reply.nextDelayedAt;
        const used = new Set<string>();
        for (const claimed of reply.tasks) {
          used.add(claimed.token);
          this.adopt(claimed);
        }
        for (const token of free) {
          if (!used.has(token)) this.tokens.set(token, { slot: this.slotOf(token), state: 'free' });
        }
        claimedAll = reply.tasks.length === free.length;
      } catch (error) {
        for (const token of free)
          this.tokens.set(token, { slot: this.slotOf(token), state: 'free' });
        failures++;
        this.log.error({ err: error }, 'claim failed; retrying');
        await sleep(Math.min(200 * 2 ** failures, 5_000));
        continue;
      }
      if (claimedAll || !this.running) continue;
      await this.block(nextDelayedAt);
    }
  }

  private async block(nextDelayedAt: number): Promise<void> {
    let timeoutMs = this.timing.maxBlockMs;
    if (nextDelayedAt > 0)
      timeoutMs = Math.min(timeoutMs, Math.max(10, nextDelayedAt - Date.now() + 5));
    this.blocked = true;
    try {
      await this.blocking.blpop(
        this.keys.signal,
        this.keys.wake(this.scripts.hostId),
        (timeoutMs / 1000).toFixed(3),
      );
    } catch (error) {
      if (this.running) {
        this.log.warn({ err: error }, 'blocking wait failed; retrying');
        await sleep(1_000);
      }
    } finally {
      this.blocked = false;
      this.wakePending = false;
    }
  }

  private slotOf(token: string): number {
    return this.tokens.get(token)?.slot ?? Number(token.split('.')[0]);
  }

  private busyLeases(): [string, string][] {
    const leases: [string, string][] = [];
    for (const entry of this.tokens.values()) {
      if (entry.state === 'busy') leases.push([entry.task.task.id, entry.task.lease]);
    }
    return leases;
  }

  private async renewLeases(): Promise<void> {
    const leases = this.busyLeases();
    if (leases.length === 0) return;
    try {
      const lost = new Set(await this.scripts.renew(leases, this.timing.leaseMs));
      if (lost.size === 0) return;
      // A run that ended while the renewal was in flight is not a lost lease.
      const stillHeld = this.busyLeases().filter(
        ([id, lease]) => lost.has(id) && leases.some(([i, l]) => i === id && l === lease),
      );
      if (stillHeld.length > 0) {
        this.log.warn(
          { taskIds: stillHeld.map(([id]) => id) },
          'leases lost while running (reaped elsewhere); outcomes will not be stored',
        );
      }
    } catch (error) {
      this.log.warn({ err: error }, 'lease renewal failed');
    }
  }

  private async maintain(): Promise<void> {
    const free: string[] = [];
    const busy: string[] = [];
    for (const [token, entry] of this.tokens) {
      if (entry.state === 'free' && this.pool.accepting(entry.slot)) free.push(token);
      else if (entry.state !== 'claiming') busy.push(token);
    }
    try {
      const [, reaped] = await Promise.all([
        this.scripts.heartbeat(this.timing.tickMs * 3, free, busy),
        this.scripts.reap(),
        this.scripts.promote(),
      ]);
      if (reaped.requeued + reaped.dead > 0)
        this.log.warn(reaped, 'recovered tasks whose lease expired');
    } catch (error) {
      this.log.warn({ err: error }, 'maintenance tick failed');
    }
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise)).catch(() => {});
    return promise;
  }

  /** Stops claiming; the loop ends and idle waits are interrupted. */
  async stopClaiming(): Promise<void> {
    this.running = false;
    if (this.idleWaiter) {
      const resolve = this.idleWaiter;
      this.idleWaiter = undefined;
      resolve();
    }
    this.blocking.disconnect();
    await this.loopDone;
  }

  /** Stops the renewal and maintenance timers (last step of shutdown). */
  stopTimers(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
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
