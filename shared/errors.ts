/**
 * Errors the engine raises, each with a `name` and a `code`, so callers (the HTTP app, the CLI)
 * can map them to a status or an exit code without parsing messages.
 */
import type { ValidationIssue } from './enqueue-request.js';

/** A request broke a rule; nothing was written. */
export class ValidationError extends Error {
  override name = 'ValidationError';
  readonly code = 'invalid_request';
  constructor(readonly issues: readonly ValidationIssue[]) {
    super(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  }
}

/** A task record in Redis could not be decoded. */
export class CorruptRecordError extends Error {
  override name = 'CorruptRecordError';
  readonly code = 'corrupt_record';
  constructor(
    readonly taskId: string,
    detail: string,
  ) {
    super(`corrupted record for task ${taskId}: ${detail}`);
  }
}

/** A script replied with something other than its documented shape. */
export class ScriptReplyError extends Error {
  override name = 'ScriptReplyError';
  readonly code = 'bad_script_reply';
  constructor(script: string, detail: string) {
    super(`unexpected reply from the ${script} script: ${detail}`);
  }
}

/** Redis (or the REST gateway in front of it) could not be reached or failed. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  readonly code = 'store_unavailable';
}

/**
 * A producer or host uses another shard count than the queue was declared with (see
 * shared/shards.ts); nothing was written. Set FORKLIFT_SHARDS (or `shards`) to the queue's.
 */
export class ShardMismatchError extends Error {
  override name = 'ShardMismatchError';
  readonly code = 'shard_mismatch';
}

/** Turns the scripts' 'shard mismatch' error into a `ShardMismatchError`; other errors as they are. */
export function asShardMismatch(error: unknown, queue: string): unknown {
  const message = error instanceof Error ? error.message : String(error);
  const match =
    /shard mismatch: the queue is declared with (\d+) shard\(s\), this client uses (\d+)/.exec(
      message,
    );
  if (!match) return error;
  return new ShardMismatchError(
    `queue ${queue} is declared with ${match[1]} shard(s), but this client uses ${match[2]}: set FORKLIFT_SHARDS=${match[1]} (or the shards option) to use it`,
  );
}
