/**
 * The claim loop: leases tasks for the tokens of idle slots (a busy child leases for itself),
 * hands what it leased to the host, and waits when there is nothing to do.
 *
 * Waiting costs nothing. With no idle slot it waits in memory until one is. With idle slots but
 * no work it blocks in BLPOP, on a dedicated connection, on the queue's signal list and on this
 * host's own wake list, until an enqueue leaves a marker, the earliest delayed task is due, or
 * `maxBlockMs` passes. A new child ready during a BLPOP wakes it through the wake list, so new
 * capacity never waits for a timeout. A slot that turns idle needs no such wake: the finish call
 * that ended its last run found no work, and new work leaves a marker.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { QueueKeys } from '../shared/keys.js';
import type { ClaimedTask, HostScripts } from './engine/host-scripts.js';
import type { LaneOrder } from './engine/lane-order.js';
import type { Offer } from './pool/pool.js';
import type { RedisClient } from './redis/connect.js';

/** True for Redis's reply to a client blocked on a master that turned into a replica. */
const isUnblocked = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith('UNBLOCKED');

/** What the claim loop needs. */
export interface ClaimLoopOptions {
  scripts: HostScripts;
  /** The ordinary connection (for the wake marker). */
  commands: RedisClient;
  /** The dedicated BLPOP connection. */
  blocking: RedisClient;
  keys: QueueKeys;
  /** The idle slots, marked as claiming (pool.offer). */
  offer: () => Offer[];
  laneOrder: LaneOrder;
  leaseMs: number;
  maxBlockMs: number;
  log: Logger;
  /** Takes what a claim leased for the `offered` slots (a slot that got none is idle again). */
  handOut: (offered: readonly Offer[], leased: readonly ClaimedTask[]) => Promise<void>;
}

/** The claim loop of one host. */
export class ClaimLoop {
  private running = false;
  private blocked = false;
  private wakePending = false;
  private idleWaiter: (() => void) | undefined;
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly o: ClaimLoopOptions) {}

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
      const wakeKey = this.o.keys.wake(this.o.scripts.hostId);
      this.o.commands
        .multi()
        .rpush(wakeKey, '1')
        .pexpire(wakeKey, 60_000)
        .exec()
        .catch((error: unknown) =>
          this.o.log.warn({ err: error }, 'could not wake the claim loop'),
        );
    }
  }

  /** Stops claiming: interrupts any wait (closing the blocking connection) and ends the loop. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.idleWaiter) {
      const resolve = this.idleWaiter;
      this.idleWaiter = undefined;
      resolve();
    }
    this.o.blocking.disconnect();
    await this.done;
  }

  private async loop(): Promise<void> {
    const { scripts, log } = this.o;
    let failures = 0;
    while (this.running) {
      const offers = this.o.offer();
      if (offers.length === 0) {
        await new Promise<void>((resolve) => {
          this.idleWaiter = resolve;
        });
        continue;
      }
      const free = offers.flatMap((offer) => offer.tokens);
      let reply: Awaited<ReturnType<HostScripts['claim']>>;
      try {
        reply = await scripts.claim(free, this.o.leaseMs, this.o.laneOrder.next());
      } catch (error) {
        // If the claim ran and its reply was lost, the next claim for these tokens gets the
        // same tasks back (see the claim script): nothing is orphaned.
        await this.o.handOut(offers, []);
        failures++;
        log.error({ err: error }, 'claim failed; retrying');
        await sleep(Math.min(200 * 2 ** failures, 5_000));
        continue;
      }
      failures = 0;
      await this.o.handOut(offers, reply.tasks);
      const claimedAll = reply.tasks.length === free.length;
      const { nextDelayedAt } = reply;
      if (claimedAll || !this.running) continue;
      await this.block(nextDelayedAt);
    }
  }

  private async block(nextDelayedAt: number): Promise<void> {
    let timeoutMs = this.o.maxBlockMs;
    if (nextDelayedAt > 0) {
      timeoutMs = Math.min(timeoutMs, Math.max(10, nextDelayedAt - Date.now() + 5));
    }
    this.blocked = true;
    try {
      await this.o.blocking.blpop(
        this.o.keys.signal,
        this.o.keys.wake(this.o.scripts.hostId),
        (timeoutMs / 1000).toFixed(3),
      );
    } catch (error) {
      if (this.running && isUnblocked(error)) {
        // On a cluster, the master the wait was on became a replica (a failover): claim again
        // at once; the claim and the next wait follow the slot to its new master.
        this.o.log.info('blocking wait ended by a failover; claiming on the new master');
      } else if (this.running) {
        this.o.log.warn({ err: error }, 'blocking wait failed; retrying');
        await sleep(1_000);
      }
    } finally {
      this.blocked = false;
      this.wakePending = false;
    }
  }
}
