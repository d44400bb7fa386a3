/**
 * A child's own connection to Redis, for direct settling (see protocol.ts): it stores the
 * child's successful runs with the complete script and leases the next task to each freed token
 * in the same call, so a run's outcome and the child's next task cost one round trip and never
 * pass through the parent.
 */
import type { Redis } from 'ioredis';
import { queueKeys } from '../../shared/keys.js';
import { toRunnable } from '../engine/claimed-task.js';
import { HostScripts } from '../engine/host-scripts.js';
import { type LaneOrder, strictLaneOrder, weightedLaneOrder } from '../engine/lane-order.js';
import { connectRedis } from '../redis/connect.js';
import type { ChildSettleConfig, CorruptClaim, LeasedTask } from './protocol.js';

/**
 * A busy child promotes due delayed tasks with at most one of its calls in this many ms (the
 * host's upkeep tick promotes too): a check per run would cost Redis a call per task.
 */
const PROMOTE_EVERY_MS = 100;

/** A successful run to store. */
export interface SettleRun {
  token: string;
  id: string;
  lease: string;
  resultJson: string;
}

/** What one settle call did. */
export interface SettleReply {
  stored: boolean[];
  claimed: LeasedTask[];
  corrupt: CorruptClaim[];
}

/** Reads FORKLIFT_CHILD_SETTLE; undefined when the parent settles everything itself. */
export function settleConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): ChildSettleConfig | undefined {
  const text = env.FORKLIFT_CHILD_SETTLE;
  return text ? (JSON.parse(text) as ChildSettleConfig) : undefined;
}

/** Settles a child's runs in Redis. */
export class ChildSettler {
  private readonly redis: Redis;
  private readonly scripts: HostScripts;
  private readonly order: LaneOrder;
  private promotedAt = 0;

  private constructor(private readonly config: ChildSettleConfig) {
    this.redis = connectRedis(config.redisUrl, { name: `forklift:${config.hostId}:child` });
    this.scripts = new HostScripts(
      this.redis,
      queueKeys(config.queue, config.namespace),
      config.hostId,
    );
    this.order = config.weights ? weightedLaneOrder(config.weights) : strictLaneOrder;
  }

  /** Connects and loads the scripts. */
  static async open(config: ChildSettleConfig): Promise<ChildSettler> {
    const settler = new ChildSettler(config);
    await settler.scripts.load();
    return settler;
  }

  /**
   * How many successes to store per call: half a line, so the other half keeps the child busy
   * while the call is out (with a line of one, every run: the strict semaphore).
   */
  get batchSize(): number {
    return Math.max(1, Math.floor(this.config.lineSize / 2));
  }

  /** True when the child's resident memory is past its limit (it is about to be recycled). */
  overMemory(): boolean {
    const { maxRssBytes } = this.config;
    return maxRssBytes !== null && process.memoryUsage.rss() > maxRssBytes;
  }

  /** True when the child has a memory limit (so it measures its resident memory). */
  get watchesMemory(): boolean {
    return this.config.maxRssBytes !== null;
  }

  /**
   * True when the child may lease more, given the number of runs it would then have run or hold
   * at most (its recycling limits: max tasks, max memory).
   */
  mayLease(totalRuns: number): boolean {
    const { maxTasks, maxRssBytes } = this.config;
    if (maxTasks !== null && totalRuns > maxTasks) return false;
    return maxRssBytes === null || process.memoryUsage.rss() <= maxRssBytes;
  }

  /**
   * Stores `runs`; with `leaseNext`, leases the next task to each of their tokens. Leased tasks
   * that do not decode come back in `corrupt` (the parent sends them to dead).
   */
  async settle(runs: readonly SettleRun[], leaseNext: boolean): Promise<SettleReply> {
    let promote = false;
    if (leaseNext) {
      const now = Date.now();
      promote = now - this.promotedAt >= PROMOTE_EVERY_MS;
      if (promote) this.promotedAt = now;
    }
    const reply = await this.scripts.complete(
      runs,
      leaseNext ? { leaseMs: this.config.leaseMs, order: this.order.next(), promote } : undefined,
    );
    const claimed: LeasedTask[] = [];
    const corrupt: CorruptClaim[] = [];
    for (const next of reply.next) {
      try {
        claimed.push({ token: next.token, ...toRunnable(next.id, next.fields) });
      } catch {
        corrupt.push(next);
      }
    }
    return { stored: reply.stored, claimed, corrupt };
  }

  /** Closes the connection. */
  close(): void {
    this.redis.disconnect();
  }
}
