/**
 * The worker host's side of the engine: typed calls of the claim, complete, fail, renew,
 * release, reap, promote and host scripts over one ioredis connection.
 *
 * Script SHAs are computed once at start-up (`load`), so each call is a single EVALSHA written
 * straight to the socket; EVAL is sent only when Redis answers NOSCRIPT (after a restart).
 * Calls are not awaited one by one by the caller: ioredis writes them in order and Redis runs
 * them in order, which the token bookkeeping relies on.
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../../shared/keys.js';
import { isNoScriptError, scriptSha } from '../../shared/script-runner.js';
import {
  claimScript,
  completeScript,
  failScript,
  heartbeatScript,
  type LuaScript,
  promoteScript,
  reapScript,
  registerHostScript,
  releaseScript,
  renewScript,
  unregisterHostScript,
} from '../../shared/scripts/index.js';

/** A task as a claim returns it: the slot token, the id and the raw record fields. */
export interface ClaimedTask {
  token: string;
  id: string;
  fields: string[];
}

/** What `claim` returns. */
export interface ClaimReply {
  /** Epoch ms of the earliest delayed task, or -1. */
  nextDelayedAt: number;
  tasks: ClaimedTask[];
}

/** What `complete` returns. */
export interface CompleteReply {
  /** Per run, in order: false when its lease had been lost and nothing was stored. */
  stored: boolean[];
  /** The tasks leased to the freed tokens (tokens not named here went back to the list). */
  next: ClaimedTask[];
}

/** What `fail` returns. */
export interface FinishReply {
  /** False when the lease had been lost and nothing was stored. */
  stored: boolean;
  /** 'failed' (retry at retryAt), 'dead', or 'lost'. */
  outcome: string;
  retryAt: number;
  /** The next task claimed for the same token, if one was asked for and found. */
  next: ClaimedTask | undefined;
}

const SCRIPTS = [
  claimScript,
  completeScript,
  failScript,
  renewScript,
  releaseScript,
  reapScript,
  promoteScript,
  registerHostScript,
  heartbeatScript,
  unregisterHostScript,
];

/**
 * Reads the leased tasks of a reply: a JSON string [[token, id, [field, value, ...]], ...] (see
 * lua-common.ts), or nothing when no task was leased.
 */
function parseLeased(value: unknown): ClaimedTask[] {
  if (typeof value !== 'string') return [];
  return (JSON.parse(value) as unknown[]).map((entry) => {
    const [token, id, fields] = entry as [unknown, unknown, unknown];
    // An empty Lua table encodes as {}: a record with none of the claimed fields.
    return {
      token: String(token),
      id: String(id),
      fields: Array.isArray(fields) ? fields.map(String) : [],
    };
  });
}

/** Engine calls bound to one queue, one host and one connection. */
export class HostScripts {
  private readonly shas = new Map<LuaScript, string>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: QueueKeys,
    readonly hostId: string,
  ) {}

  /** Computes every script's SHA; call once before anything else. */
  async load(): Promise<void> {
    for (const script of SCRIPTS) this.shas.set(script, await scriptSha(script));
  }

  private async call(script: LuaScript, args: (string | number)[]): Promise<unknown> {
    const keys = this.keys.scriptKeys;
    const sha = this.shas.get(script);
    if (sha === undefined) throw new Error(`script ${script.name} used before load()`);
    try {
      return await this.redis.evalsha(sha, keys.length, ...keys, this.keys.prefix, ...args);
    } catch (error) {
      if (!isNoScriptError(error)) throw error;
      return this.redis.eval(script.source, keys.length, ...keys, this.keys.prefix, ...args);
    }
  }

  /** Leases one task per token in `tokens` (as many as there is work for). */
  async claim(tokens: readonly string[], leaseMs: number, order: string): Promise<ClaimReply> {
    const reply = (await this.call(claimScript, [
      this.hostId,
      leaseMs,
      order,
      ...tokens,
    ])) as unknown[];
    return { nextDelayedAt: Number(reply[0]), tasks: parseLeased(reply[1]) };
  }

  /**
   * Stores the results of several runs in one call; with `next`, leases the next task to each
   * freed token (as many as there is work for), promoting due delayed tasks first unless
   * `next.promote` is false.
   */
  async complete(
    runs: readonly { token: string; id: string; lease: string; resultJson: string }[],
    next: { leaseMs: number; order: string; promote?: boolean } | undefined,
  ): Promise<CompleteReply> {
    const args: (string | number)[] = [
      this.hostId,
      next ? (next.promote === false ? '2' : '1') : '0',
      next?.leaseMs ?? 0,
      next?.order ?? 'hnl',
    ];
    for (const run of runs) args.push(run.token, run.id, run.lease, run.resultJson);
    const reply = (await this.call(completeScript, args)) as unknown[];
    const stored = reply.slice(0, runs.length).map((status) => Number(status) === 1);
    return { stored, next: parseLeased(reply[runs.length]) };
  }

  /** Records a failed attempt (retry or dead); with `next`, claims the following task. */
  async fail(
    token: string,
    id: string,
    lease: string,
    message: string,
    unrecoverable: boolean,
    next: { leaseMs: number; order: string } | undefined,
  ): Promise<FinishReply> {
    const reply = (await this.call(failScript, [
      this.hostId,
      token,
      id,
      lease,
      message,
      unrecoverable ? '1' : '0',
      Math.random(),
      next ? '1' : '0',
      next?.leaseMs ?? 0,
      next?.order ?? 'hnl',
    ])) as unknown[];
    return {
      stored: Number(reply[0]) === 1,
      outcome: String(reply[1]),
      retryAt: Number(reply[2]),
      next: parseLeased(reply[3])[0],
    };
  }

  /** Extends leases; returns the ids this host no longer holds. */
  async renew(
    leases: readonly (readonly [id: string, lease: string])[],
    leaseMs: number,
  ): Promise<string[]> {
    if (leases.length === 0) return [];
    const reply = (await this.call(renewScript, [
      this.hostId,
      leaseMs,
      ...leases.flat(),
    ])) as unknown[];
    return reply.map(String);
  }

  /** Puts leased tasks back at the head of their lanes, refunding the attempt. */
  async release(
    items: readonly (readonly [id: string, lease: string, token: string])[],
  ): Promise<number> {
    if (items.length === 0) return 0;
    return Number(await this.call(releaseScript, [this.hostId, ...items.flat()]));
  }

  /** Recovers expired leases (of any host). */
  async reap(limit = 100): Promise<{ requeued: number; dead: number }> {
    const [requeued, dead] = (await this.call(reapScript, [limit])) as number[];
    return { requeued: Number(requeued), dead: Number(dead) };
  }

  /** Moves due delayed tasks into their lanes. */
  async promote(limit = 1000): Promise<{ moved: number; nextDelayedAt: number }> {
    const [moved, next] = (await this.call(promoteScript, [limit])) as number[];
    return { moved: Number(moved), nextDelayedAt: Number(next) };
  }

  /** Announces this host and rebuilds its token list. */
  async register(ttlMs: number, description: object, tokens: readonly string[]): Promise<void> {
    await this.call(registerHostScript, [
      this.hostId,
      ttlMs,
      JSON.stringify(description),
      ...tokens,
    ]);
  }

  /** Extends this host's TTL and syncs its token list. */
  async heartbeat(
    ttlMs: number,
    free: readonly string[],
    busy: readonly string[],
  ): Promise<number> {
    const [hosts] = (await this.call(heartbeatScript, [
      this.hostId,
      ttlMs,
      free.length,
      ...free,
      ...busy,
    ])) as number[];
    return Number(hosts);
  }

  /** Forgets this host (clean shutdown). */
  async unregister(): Promise<void> {
    await this.call(unregisterHostScript, [this.hostId]);
  }
}
