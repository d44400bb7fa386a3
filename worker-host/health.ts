/**
 * What a worker host knows of its own health, without asking Redis for it: the two checks behind
 * `GET /healthz` and `GET /readyz` (served by http-server.ts) and the outage clock behind
 * `exitAfterOutageMs`.
 *
 * - Liveness (`EventLoopWatch`): a 1 s timer notes when it last ran. The host's event loop is
 *   *stuck* while it runs more than 10 s behind: the timer's latest tick came more than 10 s late,
 *   or it has not ticked for more than 11 s. (A loop stuck for good cannot answer at all; a probe
 *   that times out says so.)
 * - Redis contact (`RedisContact`): the upkeep calls (heartbeat, reap, promote, renewals) and the
 *   command connection's own events tell it when Redis last answered and whether a call or the
 *   connection failed since. An error reply (OOM, say) is an answer: Redis was reached.
 * - Readiness (`readiness`): Redis answered within max(2 ticks, 5 s) and nothing failed since, at
 *   least one child is up and ready, the host's last heartbeat is younger than its TTL, and it is
 *   not shutting down.
 */

/** The event-loop timer's period. */
export const LOOP_TICK_MS = 1_000;
/** How far behind the event loop may run before the host counts as stuck. */
export const LOOP_STUCK_MS = 10_000;
/** The least time without an answer from Redis after which readiness fails (see `redisStaleMs`). */
export const REDIS_STALE_MIN_MS = 5_000;

/** How long Redis may go without answering an upkeep call before the host counts it as out. */
export function redisStaleMs(tickMs: number): number {
  return Math.max(2 * tickMs, REDIS_STALE_MIN_MS);
}

/** Body of `GET /healthz`. */
export interface LivenessReport {
  status: 'ok' | 'stuck';
  host: string;
  /** How far behind the event loop runs, ms (0 when on time). */
  eventLoopLagMs: number;
  /** Present when stuck. */
  reason?: string;
}

/**
 * Watches the host's event loop with a 1 s timer (unref'd: it keeps no process alive).
 * Stuck while the lag passes `stuckMs`; see the note atop this file.
 */
export class EventLoopWatch {
  private lastTickAt: number;
  private lastLateMs = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly stuckMs = LOOP_STUCK_MS,
    private readonly periodMs = LOOP_TICK_MS,
  ) {
    this.lastTickAt = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      this.lastLateMs = Math.max(0, now - this.lastTickAt - this.periodMs);
      this.lastTickAt = now;
    }, this.periodMs);
    this.timer.unref();
  }

  /** How far behind the loop runs: the lateness of the latest tick, or of the one overdue now. */
  lagMs(now = Date.now()): number {
    return Math.max(this.lastLateMs, now - this.lastTickAt - this.periodMs, 0);
  }

  /** The `/healthz` report. */
  report(host: string): LivenessReport {
    const lag = this.lagMs();
    if (lag <= this.stuckMs) return { status: 'ok', host, eventLoopLagMs: lag };
    return {
      status: 'stuck',
      host,
      eventLoopLagMs: lag,
      reason: `the event loop runs ${seconds(lag)} s behind (more than ${seconds(this.stuckMs)} s)`,
    };
  }

  /** Stops the timer. */
  stop(): void {
    clearInterval(this.timer);
  }
}

/** Where the host stands with Redis (see `RedisContact.state`). */
export interface RedisState {
  /** True while Redis counts as out: a call or the connection failed since its last answer, or it has been silent for too long. */
  out: boolean;
  /** Ms since Redis last answered. */
  sinceAnswerMs: number;
  /** Ms since the outage began (0 when not out): its first failure, or the last answer of a silent Redis. */
  outageMs: number;
  /** The last failure's message, if any failure came after the last answer. */
  lastError: string | undefined;
  /** Ms since the host's last successful heartbeat (or its registration). */
  sinceBeatMs: number;
}

/**
 * When Redis last answered the host, and whether it failed since. Fed by the upkeep calls
 * (`observe`, `beat`) and by the command connection's events (`answered` on its ready check
 * after a (re)connect, `failed` on its errors, `closed` when it closes). Starts as just answered: the host
 * creates it once it has registered.
 */
export class RedisContact {
  private lastAnswerAt: number;
  private lastBeatAt: number;
  private failedSince: number | undefined;
  private lastError: string | undefined;

  /** @param staleMs how long Redis may be silent before it counts as out (`redisStaleMs`). */
  constructor(readonly staleMs: number) {
    this.lastAnswerAt = Date.now();
    this.lastBeatAt = this.lastAnswerAt;
  }

  /** Redis answered (a reply, an error reply, or a connection's ready check). */
  answered(): void {
    this.lastAnswerAt = Date.now();
    this.failedSince = undefined;
    this.lastError = undefined;
  }

  /** A heartbeat succeeded: Redis answered, and the host is registered until its TTL runs out. */
  beat(): void {
    this.answered();
    this.lastBeatAt = this.lastAnswerAt;
  }

  /** A call got no answer, or the connection failed. */
  failed(error: unknown): void {
    this.failedSince ??= Date.now();
    this.lastError = error instanceof Error ? error.message : String(error);
  }

  /** The connection closed (keeps the error that came with it, if any, as the reason). */
  closed(): void {
    this.failedSince ??= Date.now();
    this.lastError ??= 'the connection to Redis closed';
  }

  /**
   * Notes how a call ended: any reply counts as an answer (an error reply too: Redis was
   * reached), any other failure as a failure. Returns `call` unchanged.
   */
  observe<T>(call: Promise<T>): Promise<T> {
    call.then(
      () => this.answered(),
      (error: unknown) => {
        if (isReplyError(error)) this.answered();
        else this.failed(error);
      },
    );
    return call;
  }

  /** Where the host stands with Redis now. */
  state(now = Date.now()): RedisState {
    const sinceAnswerMs = now - this.lastAnswerAt;
    const silent = sinceAnswerMs > this.staleMs;
    const out = this.failedSince !== undefined || silent;
    const outageStart = this.failedSince ?? this.lastAnswerAt;
    return {
      out,
      sinceAnswerMs,
      outageMs: out ? now - outageStart : 0,
      lastError: this.lastError,
      sinceBeatMs: now - this.lastBeatAt,
    };
  }
}

/** True for an error reply from Redis (ioredis's ReplyError), which is an answer. */
function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

/** One check of `/readyz`. */
export interface ReadinessCheck {
  ok: boolean;
  /** Why not, when not ok. */
  reason?: string;
  [detail: string]: unknown;
}

/** Body of `GET /readyz`. */
export interface ReadinessReport {
  status: 'ready' | 'not ready';
  host: string;
  checks: {
    redis: ReadinessCheck;
    children: ReadinessCheck & { live: number; of: number };
    registered: ReadinessCheck;
    running: ReadinessCheck;
  };
}

/** What `readiness` reads. */
export interface ReadinessSources {
  host: string;
  redis: RedisContact;
  /** Children up and ready for work (idle, claiming or busy), and the pool's size. */
  children: () => { live: number; of: number };
  /** The host's TTL in `hosts`: past it without a heartbeat, other hosts presume it dead. */
  hostTtlMs: number;
  /** True once the host has begun to shut down. */
  stopping: () => boolean;
}

/** The `/readyz` report: ready when every check is ok (see the note atop this file). */
export function readiness(sources: ReadinessSources): ReadinessReport {
  const redis = sources.redis.state();
  const { live, of } = sources.children();
  const stopping = sources.stopping();
  const checks: ReadinessReport['checks'] = {
    redis: redis.out
      ? {
          ok: false,
          reason:
            redis.lastError !== undefined
              ? `unreachable for ${seconds(redis.outageMs)} s (last answer ${seconds(redis.sinceAnswerMs)} s ago): ${redis.lastError}`
              : `no answer for ${seconds(redis.sinceAnswerMs)} s (more than ${seconds(sources.redis.staleMs)} s)`,
          sinceAnswerMs: redis.sinceAnswerMs,
        }
      : { ok: true, sinceAnswerMs: redis.sinceAnswerMs },
    children:
      live > 0
        ? { ok: true, live, of }
        : { ok: false, reason: `no child is up (0 of ${of} ready)`, live, of },
    registered:
      redis.sinceBeatMs <= sources.hostTtlMs
        ? { ok: true, sinceBeatMs: redis.sinceBeatMs }
        : {
            ok: false,
            reason: `last heartbeat ${seconds(redis.sinceBeatMs)} s ago, past the host's TTL of ${seconds(sources.hostTtlMs)} s: other hosts may take its tasks`,
            sinceBeatMs: redis.sinceBeatMs,
          },
    running: stopping ? { ok: false, reason: 'shutting down: no new tasks' } : { ok: true },
  };
  const ready = Object.values(checks).every((check) => check.ok);
  return { status: ready ? 'ready' : 'not ready', host: sources.host, checks };
}

/** Ms as seconds with at most one decimal. */
function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}
