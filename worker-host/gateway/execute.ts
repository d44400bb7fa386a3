/**
 * Running commands on a Redis connection: one command, a pipeline, or a MULTI/EXEC transaction.
 *
 * Replies come back untouched (no ioredis reply transformers: HGETALL stays a flat array, bytes
 * stay bytes). A Redis error reply is an outcome like any other; a broken or missing connection
 * is a {@link RedisUnavailableError}.
 */
import { Command, type Redis } from 'ioredis';
import type { CommandArg } from './commands.js';
import type { ItemOutcome, RedisReply } from './encoding.js';
import { RedisUnavailableError } from './redis-pool.js';

/** A Command whose reply is delivered exactly as decoded (buffers, digit strings, arrays). */
class RawCommand extends Command {
  override transformReply(result: Buffer | Buffer[]): Buffer | Buffer[] {
    return result;
  }
}

/** Error text of a Redis error reply, or `null` for any other failure (connection, timeout). */
function replyErrorText(error: unknown): string | null {
  return error instanceof Error && error.name === 'ReplyError' ? error.message : null;
}

const LOST = 'ERR connection to Redis lost before the reply; the command may or may not have run';

function send(conn: Redis, args: readonly CommandArg[]): Promise<RedisReply> {
  const [name, ...rest] = args;
  const command = new RawCommand(typeof name === 'string' ? name : String(name), rest);
  conn.sendCommand(command);
  return command.promise as Promise<RedisReply>;
}

/** Sends every command in one socket write, so Redis receives them as one pipeline. */
function sendAll(conn: Redis, commands: readonly (readonly CommandArg[])[]): Promise<RedisReply>[] {
  const stream = conn.stream;
  stream?.cork();
  try {
    return commands.map((args) => send(conn, args));
  } finally {
    stream?.uncork();
  }
}

/** An item's outcome, or `lost` when the connection failed before its reply. */
type Settled = ItemOutcome | { ok: false; error: string; lost: true };

function settle(promise: Promise<RedisReply>): Promise<Settled> {
  return promise.then(
    (reply): Settled => ({ ok: true, reply }),
    (error: unknown): Settled => {
      const text = replyErrorText(error);
      return text === null ? { ok: false, error: LOST, lost: true } : { ok: false, error: text };
    },
  );
}

function isLost(s: Settled): boolean {
  return !s.ok && 'lost' in s;
}

/**
 * Runs one command.
 * @throws {RedisUnavailableError} if the connection fails before the reply.
 */
export async function runCommand(conn: Redis, args: readonly CommandArg[]): Promise<ItemOutcome> {
  const outcome = await settle(send(conn, args));
  if (isLost(outcome)) throw new RedisUnavailableError(LOST);
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
): Promise<ItemOutcome[]> {
  const outcomes = await Promise.all(sendAll(conn, commands).map(settle));
  if (outcomes.length > 0 && outcomes.every(isLost)) throw new RedisUnavailableError(LOST);
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
 * first refusal: `EXECABORT Transaction discarded because of: <error>`.
 * @throws {RedisUnavailableError} if the connection fails; the caller must not reuse it.
 */
export async function runTransaction(
  conn: Redis,
  commands: readonly (readonly CommandArg[])[],
): Promise<TransactionResult> {
  const replies = await Promise.all(sendAll(conn, [['MULTI'], ...commands, ['EXEC']]).map(settle));
  if (replies.some(isLost)) throw new RedisUnavailableError(LOST);
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
