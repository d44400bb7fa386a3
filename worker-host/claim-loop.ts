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
import { ClaimLoopBase, claimRetryDelayMs, isUnblocked } from './claim-loop-base.js';
import type { ClaimedTask, HostScripts } from './engine/host-scripts.js';
import type { LaneOrder } from './engine/lane-order.js';
import type { Offer } from './pool/pool.js';
import type { RedisClient } from './redis/connect.js';

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
export class ClaimLoop extends ClaimLoopBase {
  constructor(private readonly o: ClaimLoopOptions) {
    super({ commands: o.commands, wakeKey: o.keys.wake(o.scripts.hostId), log: o.log }, [
      o.blocking,
    ]);
  }

  protected async loop(): Promise<void> {
    const { scripts, log } = this.o;
    let failures = 0;
    while (this.running) {
      const offers = this.o.offer();
      if (offers.length === 0) {
        await this.untilWoken();
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
        await sleep(claimRetryDelayMs(failures));
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
