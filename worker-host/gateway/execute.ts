/**
 * Running commands on a Redis connection: one command, a pipeline, or a MULTI/EXEC transaction.
 *
 * Replies come back untouched (no ioredis reply transformers: HGETALL stays a flat array, bytes
 * stay bytes). A Redis error reply is an outcome like any other; a broken or missing connection
 * is a {@link RedisUnavailableError}. With a {@link ScriptWatchdog}, every command that runs Lua
 * is held to the script time limit (script-watchdog.ts).
 */
import { Command, type Redis } from 'ioredis';
import { type CommandArg, scriptKillKind } from './commands.js';
import type { ItemOutcome, RedisReply } from './encoding.js';
import { RedisUnavailableError } from './redis-pool.js';
import { type KillKind, ScriptTimeoutError, type ScriptWatchdog } from './script-watchdog.js';

/** A Command whose reply is delivered exactly as decoded (buffers, digit strings, arrays). */
export class RawCommand extends Command {
  override transformReply(result: Buffer | Buffer[]): Buffer | Buffer[] {
    return result;
  }
}

/** Error text of a Redis error reply, or `null` for any other failure (connection, timeout). */
function replyErrorText(error: unknown): string | null {
  return error instanceof Error && error.name === 'ReplyError' ? error.message : null;
}

/** An item whose connection broke before its reply. */
export const LOST =
  'ERR connection to Redis lost before the reply; the command may or may not have run';

function send(conn: Redis, args: readonly CommandArg[]): Promise<RedisReply> {
  const [name, ...rest] = args;
  const command = new RawCommand(typeof name === 'string' ? name : String(name), rest);
  conn.sendCommand(command);
  return command.promise as Promise<RedisReply>;
}

/**
 * Sends every command in one socket write, so Redis receives them as one pipeline, and hands the
 * batch to the watchdog. `kills[i]` says how to stop command i's script (default: as its name
 * says; a transaction marks its EXEC).
 */
function sendAll(
  conn: Redis,
  commands: readonly (readonly CommandArg[])[],
  watchdog: ScriptWatchdog | null,
  kills: readonly (KillKind | null)[] = commands.map((args) => scriptKillKind(args)),
): Promise<RedisReply>[] {
  const stream = conn.stream;
  stream?.cork();
  let replies: Promise<RedisReply>[];
  try {
    replies = commands.map((args) => send(conn, args));
  } finally {
    stream?.uncork();
  }
  if (watchdog === null) return replies;
  const kill = kills.find((k) => k !== undefined && k !== null) ?? null;
  return watchdog.track(
    conn,
    replies,
    kill,
    kills.map((k) => k !== undefined && k !== null),
  );
}

/** The connection failed (or hangs) before the reply. */
export type Lost = { ok: false; error: string; lost: true };

/** An item's outcome, or {@link Lost}. */
export type Settled = ItemOutcome | Lost;

/** A reply as an outcome: a Redis error is an outcome, a broken connection {@link Lost}. */
export function settle(promise: Promise<RedisReply>): Promise<Settled> {
  return promise.then(
    (reply): Settled => ({ ok: true, reply }),
    (error: unknown): Settled => {
      if (error instanceof ScriptTimeoutError) {
        return error.stillRunning
          ? { ok: false, error: error.message, lost: true }
          : { ok: false, error: error.message };
      }
      const text = replyErrorText(error);
      return text === null ? { ok: false, error: LOST, lost: true } : { ok: false, error: text };
    },
  );
}

/** Whether an outcome is {@link Lost}. */
export function isLost(s: Settled): s is Lost {
  return !s.ok && 'lost' in s;
}

/** The most telling text among lost items (an unkillable script's, else the generic one). */
export function lostText(outcomes: readonly Settled[]): string {
  return outcomes.filter(isLost).find((o) => o.error !== LOST)?.error ?? LOST;
}

/**
 * Runs one command.
 * @throws {RedisUnavailableError} if the connection fails before the reply, or the command's
 * script ran past the limit and could not be killed.
 */
export async function runCommand(
  conn: Redis,
  args: readonly CommandArg[],
  watchdog: ScriptWatchdog | null = null,
): Promise<ItemOutcome> {
  const [reply] = sendAll(conn, [args], watchdog);
  const outcome = await settle(reply as Promise<RedisReply>);
  if (isLost(outcome)) throw new RedisUnavailableError(outcome.error);
  return outcome;
}

/**
 * Runs a pipeline: every item answered in order, an error in one not stopping the rest. Items
 * whose reply was lost to a broken connection carry an error saying so.
 * @throws {RedisUnavailableError} only when no item got a reply at all.
 */
export async function runPipeline(
  conn: Redis,
  commands: readonly (readonly CommandArg[])[],
  watchdog: ScriptWatchdog | null = null,
): Promise<ItemOutcome[]> {
  const outcomes = await Promise.all(sendAll(conn, commands, watchdog).map(settle));
  if (outcomes.length > 0 && outcomes.every(isLost)) {
    throw new RedisUnavailableError(lostText(outcomes));
  }
  return outcomes.map((o) => (o.ok ? o : { ok: false, error: o.error }));
}

/** A transaction's result: per-item outcomes, or the reason Redis discarded it. */
export type TransactionOutcome =
  | { committed: true; items: ItemOutcome[] }
  | { committed: false; error: string };

/** The connection's state after the transaction: `false` means close it, not reuse it. */
export interface TransactionResult {
  outcome: TransactionOutcome;
  reusable: boolean;
}

/**
 * Runs MULTI, the commands, EXEC on a connection the caller holds exclusively. A command refused
 * at queue time discards the whole transaction (Redis semantics); the answer then names the
 * first refusal: `EXECABORT Transaction discarded because of: <error>`. The scripts of a
 * transaction run inside EXEC, so the watchdog holds the whole EXEC to the script time limit.
 * @throws {RedisUnavailableError} if the connection fails (or a script in it ran past the limit
 * and could not be killed); the caller must not reuse it.
 */
export async function runTransaction(
  conn: Redis,
  commands: readonly (readonly CommandArg[])[],
  watchdog: ScriptWatchdog | null = null,
): Promise<TransactionResult> {
  const execKill = commands.map(scriptKillKind).find((k) => k !== null) ?? null;
  const all = [['MULTI'], ...commands, ['EXEC']];
  const kills = all.map((_, i) => (i === all.length - 1 ? execKill : null));
  const replies = await Promise.all(sendAll(conn, all, watchdog, kills).map(settle));
  if (replies.some(isLost)) throw new RedisUnavailableError(lostText(replies));
  const [multi, ...rest] = replies;
  const exec = rest.pop();
  if (!multi?.ok || !exec) {
    return {
      outcome: {
        committed: false,
        error: multi?.ok ? 'ERR no EXEC reply' : (multi?.error ?? 'ERR MULTI failed'),
      },
      reusable: false,
    };
  }
  if (!exec.ok) {
    const queued = rest.find((r) => !r.ok);
    const error =
      queued && !queued.ok
        ? `EXECABORT Transaction discarded because of: ${queued.error}`
        : exec.error;
    return { outcome: { committed: false, error }, reusable: true };
  }
  if (!Array.isArray(exec.reply)) {
    return { outcome: { committed: false, error: 'ERR transaction aborted' }, reusable: false };
  }
  const items = exec.reply.map(
    (reply): ItemOutcome =>
      reply instanceof Error ? { ok: false, error: reply.message } : { ok: true, reply },
  );
  return { outcome: { committed: true, items }, reusable: true };
}
