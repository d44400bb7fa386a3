/**
 * The claim loop of a host on a sharded queue (claim-loop.ts is the one-shard loop, unchanged).
 * It leases for the tokens of idle slots with claim rounds across the shards (see
 * `ShardScripts.claim`) and, when there is no work, waits on every shard at once: one blocking
 * connection per shard (a cluster cannot BLPOP keys of two slots in one command), each in BLPOP
 * on its shard's signal list and this host's wake list there.
 *
 * A marker from any shard (new work, or a wake) starts a full claim round. A shard's BLPOP that
 * times out (`maxBlockMs`) is followed by a claim on that shard alone, so an idle host sends K
 * BLPOPs and K claims per `maxBlockMs` where a one-shard host sends one of each: its idle
 * commands are today's times K, not more.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { QueueKeys } from '../shared/keys.js';
import { ClaimLoopBase, claimRetryDelayMs, isUnblocked } from './claim-loop-base.js';
import type { ClaimedTask, ClaimReply } from './engine/host-scripts.js';
import type { LaneOrder } from './engine/lane-order.js';
import type { ShardScripts } from './engine/shard-scripts.js';
import type { Offer } from './pool/pool.js';
import type { RedisClient } from './redis/connect.js';

/** What the sharded claim loop needs. */
export interface ShardClaimLoopOptions {
  scripts: ShardScripts;
  /** The ordinary connection (for the wake marker). */
  commands: RedisClient;
  /** One dedicated BLPOP connection per shard, in shard order. */
  blocking: readonly RedisClient[];
  /** The keys of each shard. */
  keys: readonly QueueKeys[];
  offer: () => Offer[];
  laneOrder: LaneOrder;
  leaseMs: number;
  maxBlockMs: number;
  log: Logger;
  handOut: (offered: readonly Offer[], leased: readonly ClaimedTask[]) => Promise<void>;
}

/**
 * What ended a wait, and on which shard (-1: the earliest delayed task fell due): a marker or an
 * error calls for a claim round, a timeout for that shard's claim alone.
 */
interface WaitEnd {
  round: boolean;
  shard: number;
}

const ROUND: WaitEnd = { round: true, shard: -1 };

/** The claim loop of one host on a sharded queue. */
export class ShardClaimLoop extends ClaimLoopBase {
  /** Each shard's BLPOP in flight, if any. */
  private readonly waits: (Promise<WaitEnd> | undefined)[];

  constructor(private readonly o: ShardClaimLoopOptions) {
    // The wake marker goes to shard 0's wake list, which shard 0's BLPOP watches.
    super(
      {
        commands: o.commands,
        wakeKey: (o.keys[0] as QueueKeys).wake(o.scripts.hostId),
        log: o.log,
      },
      o.blocking,
    );
    this.waits = o.keys.map(() => undefined);
  }

  protected async loop(): Promise<void> {
    const { scripts, log } = this.o;
    let failures = 0;
    let next: WaitEnd = ROUND;
    while (this.running) {
      const offers = this.o.offer();
      if (offers.length === 0) {
        await this.untilWoken();
        next = ROUND;
        continue;
      }
      const free = offers.flatMap((offer) => offer.tokens);
      const order = this.o.laneOrder.next();
      let reply: ClaimReply;
      try {
        reply = next.round
          ? await scripts.claim(free, this.o.leaseMs, order)
          : await scripts.claimOn(next.shard, free, this.o.leaseMs, order);
      } catch (error) {
        await this.o.handOut(offers, []);
        failures++;
        log.error({ err: error }, 'claim failed; retrying');
        await sleep(claimRetryDelayMs(failures));
        next = ROUND;
        continue;
      }
      failures = 0;
      await this.o.handOut(offers, reply.tasks);
      if (reply.tasks.length === free.length || !this.running) {
        next = ROUND;
        continue;
      }
      next = await this.block(reply.nextDelayedAt);
    }
  }

  /** One shard's BLPOP, as a wait end. */
  private waitOn(shard: number): Promise<WaitEnd> {
    const keys = this.o.keys[shard] as QueueKeys;
    const connection = this.o.blocking[shard] as RedisClient;
    return connection
      .blpop(keys.signal, keys.wake(this.o.scripts.hostId), (this.o.maxBlockMs / 1000).toFixed(3))
      .then(
        (popped): WaitEnd => ({ round: popped !== null, shard }),
        async (error: unknown): Promise<WaitEnd> => {
          if (!this.running) return { round: true, shard };
          if (isUnblocked(error)) {
            this.o.log.info({ shard }, 'blocking wait ended by a failover; claiming again');
          } else {
            this.o.log.warn({ err: error, shard }, 'blocking wait failed; retrying');
            await sleep(1_000);
          }
          return { round: true, shard };
        },
      );
  }

  /** Waits until any shard's BLPOP ends, or the earliest delayed task is due. */
  private async block(nextDelayedAt: number): Promise<WaitEnd> {
    const ends = this.waits.map((wait, shard) => {
      const w = wait ?? this.waitOn(shard);
      this.waits[shard] = w;
      return w;
    });
    let timer: NodeJS.Timeout | undefined;
    const due =
      nextDelayedAt > 0
        ? new Promise<WaitEnd>((resolve) => {
            timer = setTimeout(() => resolve(ROUND), Math.max(10, nextDelayedAt - Date.now() + 5));
          })
        : undefined;
    this.blocked = true;
    try {
      // A wait that ended is consumed here, and only here: one that ends while the loop claims
      // keeps its marker until the next wait picks it up at once.
      const end = await Promise.race(due ? [...ends, due] : ends);
      if (end.shard >= 0) this.waits[end.shard] = undefined;
      return end;
    } finally {
      clearTimeout(timer);
      this.blocked = false;
      this.wakePending = false;
    }
  }
}
