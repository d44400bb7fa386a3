/**
 * What the two claim loops (claim-loop.ts for a queue of one shard, shard-claim-loop.ts for
 * several) share: whether the loop runs, its in-memory wait while no slot is idle, and the wake
 * marker that ends its BLPOP when new capacity appears.
 */
import type { Logger } from 'pino';
import type { RedisClient } from './redis/connect.js';

/** How a blocked loop is woken: a marker on this host's wake list, over the command connection. */
export interface LoopWake {
  commands: RedisClient;
  /** This host's wake list (on shard 0 of a sharded queue). */
  wakeKey: string;
  log: Logger;
}

/** The lifecycle and wake-ups of a claim loop; subclasses write `loop`. */
export abstract class ClaimLoopBase {
  protected running = false;
  /** True while the loop waits in BLPOP. */
  protected blocked = false;
  /** True once a wake marker was sent for the current BLPOP. */
  protected wakePending = false;
  private idleWaiter: (() => void) | undefined;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly wakeVia: LoopWake,
    /** The dedicated BLPOP connections, closed by `stop` to end a wait. */
    private readonly blockingConnections: readonly RedisClient[],
  ) {}

  /** True until `stop` is called. */
  get isRunning(): boolean {
    return this.running;
  }

  /** Starts the loop. */
  start(): void {
    this.running = true;
    this.done = this.loop();
  }

  /**
   * Wakes the loop from its in-memory wait (no slot was idle). Enough when a slot turns idle
   * after a finish call that found no work: a loop blocked in BLPOP is woken by the signal any
   * new work leaves, so it needs no wake of its own (which would cost Redis a few commands).
   */
  wakeIfIdle(): void {
    if (!this.idleWaiter) return;
    const resolve = this.idleWaiter;
    this.idleWaiter = undefined;
    resolve();
  }

  /** Wakes the loop: from its in-memory wait at once, from BLPOP through the wake list. */
  wake(): void {
    if (this.idleWaiter) {
      this.wakeIfIdle();
    } else if (this.blocked && !this.wakePending && this.running) {
      this.wakePending = true;
      const { commands, wakeKey, log } = this.wakeVia;
      commands
        .multi()
        .rpush(wakeKey, '1')
        .pexpire(wakeKey, 60_000)
        .exec()
        .catch((error: unknown) => log.warn({ err: error }, 'could not wake the claim loop'));
    }
  }

  /** Stops claiming: interrupts any wait (closing the blocking connections) and ends the loop. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeIfIdle();
    for (const connection of this.blockingConnections) connection.disconnect();
    await this.done;
  }

  /** Resolves when `wakeIfIdle`, `wake` or `stop` is called. */
  protected untilWoken(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.idleWaiter = resolve;
    });
  }

  /** The loop itself, run by `start` until `running` turns false. */
  protected abstract loop(): Promise<void>;
}

/** True for Redis's reply to a client blocked on a master that turned into a replica. */
export function isUnblocked(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('UNBLOCKED');
}

/** The pause after `failures` failed claims in a row: 400 ms, doubling, at most 5 s. */
export function claimRetryDelayMs(failures: number): number {
  return Math.min(200 * 2 ** failures, 5_000);
}
