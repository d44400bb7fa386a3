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
