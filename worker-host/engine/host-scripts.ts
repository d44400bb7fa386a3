/**
 * The worker host's side of the engine: typed calls of the claim, finish, renew, reap, promote
 * and host scripts over one ioredis connection (the host's own, or a child's).
 *
 * Script SHAs are computed once at start-up (`load`), so each call is a single EVALSHA written
 * straight to the socket; EVAL is sent only when Redis answers NOSCRIPT (after a restart).
 * Claim and finish are safe to send again with the same arguments when a reply was lost (see
 * their headers): callers retry them as they are.
 */
import type { QueueKeys } from '../../shared/keys.js';
import type { Priority } from '../../shared/priority.js';
import { isNoScriptError, scriptSha } from '../../shared/script-runner.js';
import {
  claimScript,
  declareShardsScript,
  finishScript,
  heartbeatScript,
  type LuaScript,
  promoteScript,
  reapScript,
  registerHostScript,
  renewScript,
  unregisterHostScript,
} from '../../shared/scripts/index.js';
import type { RedisClient } from '../redis/connect.js';

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

/** A host's vital signs at a heartbeat, as the dashboard shows them. */
export interface HostVitals {
  /** Live child processes. */
  children?: number;
  /** Resident memory of the host and its children, bytes. */
  rssBytes?: number;
}

/**
 * How a run ends, for `finish`. `priority` (the task's lane, when known) lets a child of a
 * sharded queue lease only at that priority or above on its own (see shard-scripts.ts).
 */
export type RunEnd = { token: string; id: string; lease: string; priority?: Priority } & (
  | { kind: 'ok'; resultJson: string }
  | { kind: 'fail' | 'fatal'; error: string }
  | { kind: 'release' }
);

/** How `finish` ended a run: see the finish script's header. */
export type EndOutcome = 'succeeded' | 'failed' | 'dead' | 'released' | 'lost';

/** What the tokens of a `finish` call do next. */
export type FinishThen =
  | { lease: { leaseMs: number; order: string; promote: boolean } }
  | { free: true };

/** What `finish` returns. */
export interface FinishReply {
  /** Per run, in order. */
  outcomes: EndOutcome[];
  /** Tasks leased to the tokens (with `then.lease`). */
  leased: ClaimedTask[];
}

const SCRIPTS = [
  claimScript,
  declareShardsScript,
  finishScript,
  renewScript,
  reapScript,
  promoteScript,
  registerHostScript,
  heartbeatScript,
  unregisterHostScript,
];

const OUTCOMES = new Set<string>(['succeeded', 'failed', 'dead', 'released', 'lost']);

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

/** The engine calls the host, its upkeep and its children make (one shard or several). */
export interface EngineScripts {
  readonly hostId: string;
  load(): Promise<void>;
  claim(tokens: readonly string[], leaseMs: number, order: string): Promise<ClaimReply>;
  finish(
    runs: readonly RunEnd[],
    then: FinishThen,
    moreTokens?: readonly string[],
  ): Promise<FinishReply>;
  renew(
    leases: readonly (readonly [id: string, lease: string])[],
    leaseMs: number,
  ): Promise<string[]>;
  reap(orphanGraceMs: number, limit?: number): Promise<{ requeued: number; dead: number }>;
  promote(limit?: number): Promise<{ moved: number; nextDelayedAt: number }>;
  register(ttlMs: number, description: object, tokens: readonly string[]): Promise<void>;
  heartbeat(
    ttlMs: number,
    tokens: readonly string[],
    vitals?: HostVitals,
  ): Promise<{ wasAlive: boolean }>;
  unregister(): Promise<void>;
}

/** Engine calls bound to one queue (or one shard of it), one host and one connection. */
export class HostScripts implements EngineScripts {
  private readonly shas = new Map<LuaScript, string>();

  constructor(
    private readonly redis: RedisClient,
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
   * Ends `runs`, then leases the next task to each of their tokens and `moreTokens` (as many as
   * there is work for), or frees them all, giving back whatever task of this host they still
   * hold that no run names.
   */
  async finish(
    runs: readonly RunEnd[],
    then: FinishThen,
    moreTokens: readonly string[] = [],
  ): Promise<FinishReply> {
    const lease = 'lease' in then ? then.lease : undefined;
    const args: (string | number)[] = [
      this.hostId,
      lease ? 'lease' : 'free',
      lease?.leaseMs ?? 0,
      lease?.order ?? 'hnl',
      lease?.promote ? '1' : '0',
      Math.random(),
      runs.length,
    ];
    for (const run of runs) {
      const text = run.kind === 'ok' ? run.resultJson : run.kind === 'release' ? '' : run.error;
      args.push(run.token, run.id, run.lease, run.kind, text);
    }
    args.push(...moreTokens);
    const reply = (await this.call(finishScript, args)) as unknown[];
    const outcomes: EndOutcome[] = [];
    for (let i = 0; i < runs.length; i++) {
      const outcome = String(reply[i]);
      if (!OUTCOMES.has(outcome)) throw new Error(`finish replied an unknown outcome ${outcome}`);
      outcomes.push(outcome as EndOutcome);
    }
    return { outcomes, leased: parseLeased(reply[runs.length]) };
  }

  /** Extends leases; returns the ids this host has lost. */
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

  /**
   * Recovers expired leases of hosts that are gone (any host's), and leases expired longer ago
   * than `orphanGraceMs` whatever their host.
   */
  async reap(orphanGraceMs: number, limit = 100): Promise<{ requeued: number; dead: number }> {
    const [requeued, dead] = (await this.call(reapScript, [limit, orphanGraceMs])) as number[];
    return { requeued: Number(requeued), dead: Number(dead) };
  }

  /** Moves due delayed tasks into their lanes. */
  async promote(limit = 1000): Promise<{ moved: number; nextDelayedAt: number }> {
    const [moved, next] = (await this.call(promoteScript, [limit])) as number[];
    return { moved: Number(moved), nextDelayedAt: Number(next) };
  }

  /** Announces this host and builds its token hash (every token free). */
  async register(ttlMs: number, description: object, tokens: readonly string[]): Promise<void> {
    await this.call(registerHostScript, [
      this.hostId,
      ttlMs,
      JSON.stringify(description),
      ...tokens,
    ]);
  }

  /**
   * Extends this host's TTL (a host presumed dead is registered again) and records its vital
   * signs for the dashboard (unknown ones are left as they were); resolves whether it was still
   * alive before this beat.
   */
  async heartbeat(
    ttlMs: number,
    tokens: readonly string[],
    vitals: HostVitals = {},
  ): Promise<{ wasAlive: boolean }> {
    const reply = (await this.call(heartbeatScript, [
      this.hostId,
      ttlMs,
      vitals.children ?? '',
      vitals.rssBytes ?? '',
      ...tokens,
    ])) as number[];
    return { wasAlive: Number(reply[1]) === 1 };
  }

  /**
   * Checks the shard count `shards` against the one recorded for the queue (or shard) these
   * scripts are bound to, recording it on first use when more than 1 unless `checkOnly` (see
   * declare-shards).
   * @throws the script's 'shard mismatch' error when they differ.
   */
  async declareShards(shards: number, checkOnly = false): Promise<void> {
    await this.call(declareShardsScript, checkOnly ? [shards, 'check'] : [shards]);
  }

  /** Forgets this host (clean shutdown). */
  async unregister(): Promise<void> {
    await this.call(unregisterHostScript, [this.hostId]);
  }
}
