/**
 * Shared set-up for the engine script tests: one Redis connection and one key namespace per test
 * file (deleted after the file), and a fresh queue per test (`suite.queue()`), so tests never see
 * each other's lanes. Everything runs against the real Redis; nothing is mocked.
 */
import type { Redis } from 'ioredis';
import { afterAll, expect } from 'vitest';
import { DEFAULT_POLICY } from '../../shared/defaults.js';
import { type QueueKeys, queueKeys } from '../../shared/keys.js';
import type { QueueClient } from '../../shared/queue-client.js';
import { runScript } from '../../shared/script-runner.js';
import {
  claimScript,
  ENQUEUE_FIELDS_PER_TASK,
  enqueueScript,
  finishScript,
  type LuaScript,
  registerHostScript,
} from '../../shared/scripts/index.js';
import { pairsToObject } from '../../shared/task-record.js';
import { ioredisTransport } from '../../worker-host/redis/ioredis-transport.js';
import {
  deleteNamespace,
  scanKeys,
  testNamespace,
  testQueue,
  testRedis,
} from '../support/redis.js';

/** One task of a raw enqueue call; unset fields take the default policy. */
export interface TaskInit {
  id: string;
  type?: string;
  payload?: string;
  priority?: string;
  delayMs?: number;
  idempotencyKey?: string;
  idempotencyTtlMs?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  backoffMs?: number;
  backoffMaxMs?: number;
  resultTtlMs?: number;
  deadTtlMs?: number;
  maxStalls?: number;
}

/** The 14 enqueue ARGV entries of one task. */
export function taskArgs(t: TaskInit): string[] {
  return [
    t.id,
    t.type ?? 'square',
    t.payload ?? '{"x":2}',
    t.priority ?? 'normal',
    String(t.delayMs ?? 0),
    t.idempotencyKey ?? '',
    String(t.idempotencyTtlMs ?? 86_400_000),
    String(t.maxAttempts ?? DEFAULT_POLICY.maxAttempts),
    String(t.timeoutMs ?? DEFAULT_POLICY.timeoutMs),
    String(t.backoffMs ?? DEFAULT_POLICY.backoffMs),
    String(t.backoffMaxMs ?? DEFAULT_POLICY.backoffMaxMs),
    String(t.resultTtlMs ?? DEFAULT_POLICY.resultTtlMs),
    String(t.deadTtlMs ?? DEFAULT_POLICY.deadTtlMs),
    String(t.maxStalls ?? DEFAULT_POLICY.maxStalls),
  ];
}

/** One task leased by claim or finish. */
export interface Claimed {
  token: string;
  id: string;
  fields: Record<string, string>;
}

/** Reads the leased tasks of a script reply (one JSON string at `from`, absent when none). */
export function claimedFrom(reply: readonly unknown[], from: number): Claimed[] {
  const leased = reply[from];
  if (leased === undefined) return [];
  expect(typeof leased).toBe('string');
  return (JSON.parse(leased as string) as [unknown, unknown, unknown[]][]).map(
    ([token, id, fields]) => ({
      token: String(token),
      id: String(id),
      fields: pairsToObject(fields),
    }),
  );
}

/** One run ended by a finish call: `text` is the result JSON ('ok') or the error ('fail', 'fatal'). */
export interface RunEndInit {
  token: string;
  id: string;
  /** The record's 'claims' when it was leased. */
  lease: string;
  kind: 'ok' | 'fail' | 'fatal' | 'release';
  /** Defaults to '{"ok":true}' for 'ok', 'boom' for 'fail' and 'fatal', '' for 'release'. */
  text?: string;
}

/** How a finish call goes on after its runs; see the finish script's header. */
export interface FinishOptions {
  /** 'lease' fills the tokens with the next tasks, 'free' frees them. @default 'lease' */
  mode?: 'lease' | 'free';
  /** @default 30_000 */
  leaseMs?: number;
  /** @default 'hnl' */
  order?: string;
  /** Promote due delayed tasks before leasing. @default false */
  promote?: boolean;
  /** In [0, 1): where a retry falls between backoff/2 and backoff. @default 0 */
  jitter?: number;
  /** Further tokens of the slot to fill or free, after the runs' own. */
  moreTokens?: readonly string[];
}

/** What a finish call returns: one outcome per run, then the tasks it leased. */
export interface FinishResult {
  outcomes: string[];
  leased: Claimed[];
}

const DEFAULT_TEXT = { ok: '{"ok":true}', fail: 'boom', fatal: 'boom', release: '' } as const;

export { sleep } from '../support/redis.js';

/** One queue of its own, with helpers to run scripts and read its keys. */
export class EngineQueue {
  readonly keys: QueueKeys;
  readonly client: QueueClient;

  constructor(
    readonly redis: Redis,
    namespace: string,
    readonly name: string,
  ) {
    this.keys = queueKeys(name, namespace);
    this.client = testQueue(redis, namespace, name);
  }

  /** Runs `script` with this queue's KEYS, the prefix, then `args`. */
  run(script: LuaScript, ...args: (string | number)[]): Promise<unknown> {
    return runScript(ioredisTransport(this.redis), script, this.keys.scriptKeys, [
      this.keys.prefix,
      ...args.map(String),
    ]);
  }

  /** Runs `script` and expects an array reply. */
  async runArray(script: LuaScript, ...args: (string | number)[]): Promise<unknown[]> {
    const reply = await this.run(script, ...args);
    if (!Array.isArray(reply)) throw new Error(`${script.name} replied ${String(reply)}`);
    return reply;
  }

  /** Raw enqueue of `tasks`; returns the flat reply. */
  enqueue(...tasks: TaskInit[]): Promise<unknown[]> {
    return this.runArray(
      enqueueScript,
      tasks.length,
      ENQUEUE_FIELDS_PER_TASK,
      ...tasks.flatMap(taskArgs),
    );
  }

  /** Registers `host` with `tokens` for `ttlMs`. */
  registerHost(host: string, tokens: readonly string[], ttlMs = 60_000): Promise<unknown> {
    return this.run(registerHostScript, host, ttlMs, '{"pid":1}', ...tokens);
  }

  /** Claims for `host` with `tokens`; returns nextDelayedAt and the leased tasks. */
  async claim(
    host: string,
    tokens: readonly string[],
    { leaseMs = 30_000, order = 'hnl' } = {},
  ): Promise<{ nextDelayedAt: number; tasks: Claimed[] }> {
    const reply = await this.runArray(claimScript, host, leaseMs, order, ...tokens);
    return { nextDelayedAt: Number(reply[0]), tasks: claimedFrom(reply, 1) };
  }

  /** Ends `runs` of `host` and fills or frees their tokens (and `moreTokens`). */
  async finish(
    host: string,
    runs: readonly RunEndInit[],
    {
      mode = 'lease',
      leaseMs = 30_000,
      order = 'hnl',
      promote = false,
      jitter = 0,
      moreTokens = [],
    }: FinishOptions = {},
  ): Promise<FinishResult> {
    const reply = await this.runArray(
      finishScript,
      host,
      mode,
      leaseMs,
      order,
      promote ? '1' : '0',
      jitter,
      runs.length,
      ...runs.flatMap((r) => [r.token, r.id, r.lease, r.kind, r.text ?? DEFAULT_TEXT[r.kind]]),
      ...moreTokens,
    );
    expect(reply.length).toBeLessThanOrEqual(runs.length + 1);
    return {
      outcomes: reply.slice(0, runs.length).map(String),
      leased: claimedFrom(reply, runs.length),
    };
  }

  /** The lease of task `id` as its record holds it now ('claims'). */
  async lease(id: string): Promise<string> {
    return (await this.record(id)).claims ?? '';
  }

  /** HGETALL of task `id`'s record. */
  record(id: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.task(id));
  }

  /** The ids in a lane, head first. */
  lane(priority: 'high' | 'normal' | 'low'): Promise<string[]> {
    const key = { high: this.keys.laneHigh, normal: this.keys.laneNormal, low: this.keys.laneLow };
    return this.redis.lrange(key[priority], 0, -1);
  }

  /** A zset as `{ member: score }`. */
  async zset(key: string): Promise<Record<string, number>> {
    const flat: unknown[] = (await this.redis.zrange(key, '0', '-1', 'WITHSCORES')).flat();
    const out: Record<string, number> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = Number(flat[i + 1]);
    return out;
  }

  /** The stats hash, numbers as strings. */
  stats(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.stats);
  }

  /** The host's token hash: token → id of the task leased to it, or '' when free. */
  async tokens(host: string): Promise<Record<string, string>> {
    const raw = await this.redis.hgetall(this.keys.tokens(host));
    // A held token stores `<task id>:<lease>`: the tests compare task ids.
    return Object.fromEntries(
      Object.entries(raw).map(([t, held]) => [t, held.replace(/:\d+$/, '')]),
    );
  }

  /** The host's token hash as stored (`<task id>:<lease>` or ''). */
  rawTokens(host: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.tokens(host));
  }

  /** The host's free tokens (hash fields holding ''), sorted. */
  async freeTokens(host: string): Promise<string[]> {
    const all = await this.tokens(host);
    return Object.keys(all)
      .filter((token) => all[token] === '')
      .sort();
  }

  /** Every key of this queue, sorted. */
  async allKeys(): Promise<string[]> {
    return (await scanKeys(this.redis, `${this.keys.prefix}*`)).sort();
  }

  /** A snapshot of every key of this queue (type, value, TTL) to prove nothing was written. */
  async snapshot(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const key of await this.allKeys()) {
      const [type, dump, pttl] = await Promise.all([
        this.redis.type(key),
        this.redis.dumpBuffer(key),
        this.redis.pttl(key),
      ]);
      out[key] = `${type} ${dump?.toString('hex')} ${pttl > 0 ? 'ttl' : pttl}`;
    }
    return out;
  }

  /** Redis server time in ms, the clock the scripts use. */
  async now(): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }
}

/**
 * Opens a connection and a namespace for one test file; closes and deletes them after it.
 * `queue()` gives each test a queue of its own in that namespace.
 */
export function engineSuite(file: string): {
  redis: Redis;
  namespace: string;
  queue(): EngineQueue;
} {
  const redis = testRedis();
  const namespace = testNamespace(file);
  let n = 0;
  afterAll(async () => {
    await deleteNamespace(redis, namespace);
    redis.disconnect();
  });
  return {
    redis,
    namespace,
    queue: () => {
      n += 1;
      return new EngineQueue(redis, namespace, `q${n}`);
    },
  };
}
