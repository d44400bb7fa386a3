/**
 * The script time limit (`FORKLIFT_GATEWAY_SCRIPT_TIMEOUT_MS`): a Lua script (EVAL*, FCALL*, or a
 * transaction holding one) that the gateway sent and that runs past the limit is killed by the
 * gateway itself, with SCRIPT KILL or FUNCTION KILL on the pool's control connection (never a
 * connection that carries commands: those wait behind the script).
 *
 * - The unit is a batch: one command, a pipeline, or a transaction (whose scripts run in EXEC).
 *   Redis answers a batch only once all of it has run, so the gateway cannot see where one script
 *   of a batch ends and the next begins: the clock starts when the batch reaches the head of its
 *   connection (every command sent earlier on it has its reply, so time spent queued behind
 *   another request does not count), and restarts after each kill.
 * - Redis reads the kill only once the script has run for its own `busy-reply-threshold`
 *   (`lua-time-limit`, 5 s by default), so the effective limit is the larger of the two. The kill
 *   therefore only ever hits a script that is stalling Redis at that moment.
 * - Killed: Redis answers the script's caller with an error, which the gateway rewrites to
 *   {@link killedText}.
 * - NOTBUSY (no script running: it just ended, or has not started) or a failed kill: the gateway
 *   looks again one limit later, for as long as the batch has not been answered.
 * - UNKILLABLE (the script already wrote): nothing can stop it short of SHUTDOWN NOSAVE, which the
 *   gateway never sends. The gateway drops the connection (it reconnects by itself): the script's
 *   command fails at once with {@link unkillableText} (answered 503), the batch's other commands
 *   and any queued behind it on that connection with "may or may not have run". Redis answers
 *   BUSY to everyone until the script ends.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisReply } from './encoding.js';

/** Which kill command stops a script: SCRIPT KILL (EVAL*) or FUNCTION KILL (FCALL*). */
export type KillKind = 'SCRIPT' | 'FUNCTION';

/** A watched script ran past the limit; `stillRunning` when Redis refused to kill it. */
export class ScriptTimeoutError extends Error {
  override name = 'ScriptTimeoutError';
  constructor(
    message: string,
    readonly stillRunning: boolean,
  ) {
    super(message);
  }
}

/** The error text of a script the gateway killed. */
export function killedText(timeoutMs: number): string {
  return `ERR script killed by the REST gateway: it ran longer than ${timeoutMs} ms (FORKLIFT_GATEWAY_SCRIPT_TIMEOUT_MS)`;
}

/** The error text of a script that ran past the limit but had already written. */
export function unkillableText(timeoutMs: number): string {
  return `ERR script ran longer than ${timeoutMs} ms (FORKLIFT_GATEWAY_SCRIPT_TIMEOUT_MS) and cannot be killed: it has already written (Redis answered UNKILLABLE); it keeps running and Redis answers BUSY until it ends`;
}

/** What {@link ScriptWatchdog} needs. */
export interface ScriptWatchdogOptions {
  timeoutMs: number;
  /**
   * The connection for SCRIPT KILL / FUNCTION KILL of a script running behind `conn`: the
   * pool's control connection to the same server (on a cluster, the node `conn` talks to).
   */
  control: (conn: Redis) => Redis;
  logger: Logger;
}

/** Redis's text for a script stopped by SCRIPT KILL / FUNCTION KILL. */
const KILLED = /killed by user with (SCRIPT|FUNCTION) KILL/;
/** Redis's answer when the other kind of script is running. */
const OTHER_KIND = /You can only call (SCRIPT|FUNCTION) KILL/;

type KillOutcome = 'killed' | 'unkillable' | 'not-running' | 'failed';

const settled = Promise.resolve();

/** Watches the Lua commands of one gateway; see the module comment. */
export class ScriptWatchdog {
  /** The last reply awaited on each connection. */
  private readonly tails = new WeakMap<Redis, Promise<unknown>>();

  constructor(private readonly options: ScriptWatchdogOptions) {}

  /**
   * Registers a batch of commands just sent on `conn` (call it for every batch, in sending
   * order) and returns the promises to await instead of `replies`: the same ones, unless `kill`
   * names how to stop the batch's scripts, in which case the batch is watched. `lua[i]` marks the
   * commands that run Lua (for a transaction: its EXEC).
   */
  track(
    conn: Redis,
    replies: Promise<RedisReply>[],
    kill: KillKind | null,
    lua: readonly boolean[],
  ): Promise<RedisReply>[] {
    const last = replies[replies.length - 1];
    if (last === undefined) return replies;
    const previous = this.tails.get(conn) ?? settled;
    this.tails.set(conn, last);
    return kill === null ? replies : this.watch(conn, replies, last, kill, lua, previous);
  }

  private watch(
    conn: Redis,
    replies: Promise<RedisReply>[],
    last: Promise<RedisReply>,
    kill: KillKind,
    lua: readonly boolean[],
    previous: Promise<unknown>,
  ): Promise<RedisReply>[] {
    const { timeoutMs, logger } = this.options;
    let done = false;
    let killed = false;
    let unkillable = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      done = true;
      clearTimeout(timer);
    };
    const arm = () => {
      if (done) return;
      timer = setTimeout(fire, timeoutMs);
      timer.unref();
    };
    const fire = async () => {
      const outcome = await this.kill(conn, kill);
      if (done) return;
      if (outcome === 'unkillable') {
        unkillable = true;
        finish();
        logger.error(
          { timeoutMs },
          'a script ran past the limit and cannot be killed (UNKILLABLE)',
        );
        // Redis will not read this connection until the script ends: drop it (it reconnects),
        // so that its pending commands, this batch's and those queued behind it, fail now.
        conn.stream?.destroy();
        return;
      }
      if (outcome === 'killed') {
        killed = true;
        logger.warn({ timeoutMs }, 'a script ran past the limit; killed');
      }
      arm();
    };
    // Redis answers a batch only once all of it ran: its end is the last reply.
    last.then(finish, finish);
    // The clock starts once everything sent earlier on this connection has its reply.
    previous.then(arm, arm);
    return replies.map((reply, i) =>
      reply.then(
        (value) => (killed ? rewriteKilled(value, timeoutMs) : value),
        (error: unknown) => {
          if (unkillable && lua[i]) throw new ScriptTimeoutError(unkillableText(timeoutMs), true);
          const text = error instanceof Error ? error.message : '';
          if (killed && KILLED.test(text))
            throw new ScriptTimeoutError(killedText(timeoutMs), false);
          throw error;
        },
      ),
    );
  }

  /** Sends SCRIPT KILL or FUNCTION KILL (and the other one if Redis says so). */
  private async kill(conn: Redis, first: KillKind): Promise<KillOutcome> {
    let kind = first;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.options.control(conn).call(kind, 'KILL');
        return 'killed';
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        if (text.startsWith('UNKILLABLE')) return 'unkillable';
        if (text.startsWith('NOTBUSY')) return 'not-running';
        const other = OTHER_KIND.exec(text)?.[1] as KillKind | undefined;
        if (other === undefined || other === kind) {
          this.options.logger.warn({ err: text }, `${kind} KILL failed`);
          return 'failed';
        }
        kind = other;
      }
    }
    return 'failed';
  }
}

/** A transaction's EXEC reply with the killed script's error item rewritten. */
function rewriteKilled(value: RedisReply, timeoutMs: number): RedisReply {
  if (!Array.isArray(value)) return value;
  return value.map((item) =>
    item instanceof Error && KILLED.test(item.message) ? new Error(killedText(timeoutMs)) : item,
  ) as RedisReply;
}
