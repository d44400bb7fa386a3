/**
 * The engine calls of a host (or a child) on a sharded queue: one `HostScripts` per shard, all on
 * one connection (on a cluster, ioredis routes each call to its shard's master). Every script
 * call runs on one shard; no script touches two.
 *
 * - A host registers, beats, reaps and promotes on every shard (K calls each), and renews each
 *   task's lease on the shard its id names.
 * - `claim` is a claim round across the shards (see `claim`); `claimOn` one shard's claim.
 * - `finish` ends each run on its task's shard; the tokens lease again only on the shard of the
 *   first run, and only at the priority of the runs just ended or above, so a busy child never
 *   steps down to a lower lane on its own: its slot turns idle and the host's next claim round
 *   looks for higher-priority work on every shard first.
 */
import { asShardMismatch } from '../../shared/errors.js';
import { type QueueKeys, queueKeys } from '../../shared/keys.js';
import { LANE_CODE } from '../../shared/priority.js';
import { shardOfId } from '../../shared/shards.js';
import type { RedisClient } from '../redis/connect.js';
import {
  type ClaimedTask,
  type ClaimReply,
  type EngineScripts,
  type FinishReply,
  type FinishThen,
  HostScripts,
  type HostVitals,
  type RunEnd,
} from './host-scripts.js';

const LANE_RANK: Record<string, number> = { h: 0, n: 1, l: 2 };

/** The lanes of `order` of rank `rank` (0 high, 1 normal, 2 low) or above: ('hnl', 1) is 'hn'. */
export function lanesDownTo(order: string, rank: number): string {
  return [...order].filter((lane) => (LANE_RANK[lane] ?? 2) <= rank).join('');
}

/** The slot of a token (`<slot>.<n>`). */
const slotOf = (token: string): string => token.slice(0, token.lastIndexOf('.'));

/** Engine calls over every shard of a sharded queue. */
export class ShardScripts implements EngineScripts {
  /** One per shard, in shard order. */
  readonly shards: readonly HostScripts[];
  private readonly plain: HostScripts;
  private start = 0;

  constructor(
    redis: RedisClient,
    keys: readonly QueueKeys[],
    readonly hostId: string,
    private readonly queue: string,
    namespace?: string,
  ) {
    this.shards = keys.map((k) => new HostScripts(redis, k, hostId));
    this.plain = new HostScripts(redis, queueKeys(queue, namespace), hostId);
  }

  private at(shard: number): HostScripts {
    const scripts = this.shards[shard];
    if (!scripts) throw new RangeError(`no shard ${shard}`);
    return scripts;
  }

  private shardOf(id: string): number {
    const shard = shardOfId(this.shards.length, id);
    if (shard < 0) throw new Error(`task id ${id} names no shard of queue ${this.queue}`);
    return shard;
  }

  async load(): Promise<void> {
    await this.plain.load();
    for (const scripts of this.shards) await scripts.load();
  }

  /**
   * Checks the queue's shard count on every shard and on the plain queue, then records it (2 (K
   * + 1) calls, at start-up). @throws ShardMismatchError when the queue is declared with another
   * count; nothing is written then.
   */
  async declare(): Promise<void> {
    const k = this.shards.length;
    try {
      // Every shard and the plain queue are checked before any of them records the count, so a
      // host of another count writes nothing.
      const all = [this.plain, ...this.shards];
      await Promise.all(all.map((s) => s.declareShards(k, true)));
      await Promise.all(all.map((s) => s.declareShards(k)));
    } catch (error) {
      throw asShardMismatch(error, this.queue);
    }
  }

  /** One shard's claim (all lanes in `order`). */
  claimOn(
    shard: number,
    tokens: readonly string[],
    leaseMs: number,
    order: string,
  ): Promise<ClaimReply> {
    return this.at(shard).claim(tokens, leaseMs, order);
  }

  /**
   * A claim round: for each lane of `order` in turn, each shard from a rotating first one is
   * asked for that lane's tasks, for the tokens of the slots that have none yet (a slot's tokens
   * are filled from one shard). So every shard's high lane is tried before any normal lane, and
   * no shard is always first. Stops once every slot has work: one call when the first shard
   * has enough high work, 3 K calls when the queue is empty.
   */
  async claim(tokens: readonly string[], leaseMs: number, order: string): Promise<ClaimReply> {
    const k = this.shards.length;
    const first = this.start;
    this.start = (this.start + 1) % k;
    const leased: ClaimedTask[] = [];
    let nextDelayedAt = -1;
    let open = [...tokens];
    for (const lane of order) {
      for (let i = 0; i < k && open.length > 0; i++) {
        const reply = await this.at((first + i) % k).claim(open, leaseMs, lane);
        if (reply.nextDelayedAt > 0 && (nextDelayedAt < 0 || reply.nextDelayedAt < nextDelayedAt))
          nextDelayedAt = reply.nextDelayedAt;
        if (reply.tasks.length === 0) continue;
        leased.push(...reply.tasks);
        const filled = new Set(reply.tasks.map((t) => slotOf(t.token)));
        open = open.filter((token) => !filled.has(slotOf(token)));
      }
    }
    return { nextDelayedAt, tasks: leased };
  }

  /** Ends each run on its shard; leases again only on the first run's shard (see above). */
  async finish(
    runs: readonly RunEnd[],
    then: FinishThen,
    moreTokens: readonly string[] = [],
  ): Promise<FinishReply> {
    const home = runs[0] ? this.shardOf(runs[0].id) : 0;
    const groups = new Map<number, number[]>([[home, []]]);
    runs.forEach((run, i) => {
      const shard = this.shardOf(run.id);
      groups.set(shard, [...(groups.get(shard) ?? []), i]);
    });
    const outcomes: FinishReply['outcomes'] = new Array(runs.length);
    let leased: ClaimedTask[] = [];
    await Promise.all(
      [...groups].map(async ([shard, at]) => {
        const own = at.map((i) => runs[i] as RunEnd);
        let next: FinishThen = { free: true };
        if (shard === home && 'lease' in then) {
          const rank =
            own.length === 0
              ? 2
              : Math.max(...own.map((r) => LANE_RANK[LANE_CODE[r.priority ?? 'low']] ?? 2));
          next = { lease: { ...then.lease, order: lanesDownTo(then.lease.order, rank) } };
        }
        const reply = await this.at(shard).finish(own, next, shard === home ? moreTokens : []);
        at.forEach((i, j) => {
          outcomes[i] = reply.outcomes[j] ?? 'lost';
        });
        if (shard === home) leased = reply.leased;
      }),
    );
    return { outcomes, leased };
  }

  async renew(
    leases: readonly (readonly [id: string, lease: string])[],
    leaseMs: number,
  ): Promise<string[]> {
    const groups = new Map<number, (readonly [string, string])[]>();
    for (const lease of leases) {
      const shard = this.shardOf(lease[0]);
      groups.set(shard, [...(groups.get(shard) ?? []), lease]);
    }
    const lost = await Promise.all(
      [...groups].map(([shard, group]) => this.at(shard).renew(group, leaseMs)),
    );
    return lost.flat();
  }

  async reap(orphanGraceMs: number, limit?: number): Promise<{ requeued: number; dead: number }> {
    const all = await Promise.all(this.shards.map((s) => s.reap(orphanGraceMs, limit)));
    return all.reduce((a, b) => ({ requeued: a.requeued + b.requeued, dead: a.dead + b.dead }));
  }

  async promote(limit?: number): Promise<{ moved: number; nextDelayedAt: number }> {
    const all = await Promise.all(this.shards.map((s) => s.promote(limit)));
    const due = all.map((r) => r.nextDelayedAt).filter((t) => t > 0);
    return {
      moved: all.reduce((n, r) => n + r.moved, 0),
      nextDelayedAt: due.length > 0 ? Math.min(...due) : -1,
    };
  }

  /** Checks the shard count (see `declare`), then registers on every shard. */
  async register(ttlMs: number, description: object, tokens: readonly string[]): Promise<void> {
    await this.declare();
    await Promise.all(this.shards.map((s) => s.register(ttlMs, description, tokens)));
  }

  async heartbeat(
    ttlMs: number,
    tokens: readonly string[],
    vitals?: HostVitals,
  ): Promise<{ wasAlive: boolean }> {
    const beats = await Promise.all(this.shards.map((s) => s.heartbeat(ttlMs, tokens, vitals)));
    return { wasAlive: beats.every((b) => b.wasAlive) };
  }

  async unregister(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.unregister()));
  }
}
