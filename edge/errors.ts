/**
 * Every error the API answers with has one shape, `{ error: { code, message, details? } }`, and is
 * produced in one place: handlers and middleware throw an `ApiError` (a Hono `HTTPException`),
 * and `app.onError` turns it, or any other error, into a JSON response with `errorResponse`.
 *
 * | code                | status | when                                                          |
 * |---------------------|--------|---------------------------------------------------------------|
 * | `invalid_json`      | 400    | the body is empty or not JSON                                  |
 * | `invalid_request`   | 400    | a field breaks a rule; `details.issues` names each field      |
 * | `unauthorized`      | 401    | no `Authorization: Bearer <token>`, or an unknown token        |
 * | `forbidden`         | 403    | a read-only token on a route that changes something            |
 * | `not_found`         | 404    | no such task, or no such route                                 |
 * | `conflict`          | 409    | the task cannot be canceled (or run now) in its state (`details.state`) |
 * | `payload_too_large` | 413    | the request body or a task payload is over its limit           |
 * | `internal`          | 500    | a bug; logged                                                  |
 * | `corrupt_record`    | 500    | the stored task record cannot be decoded; logged               |
 * | `not_configured`    | 503    | a variable or secret is missing or invalid (named in the text); FORKLIFT_SHARDS differs from the queue's shard count |
 * | `store_unavailable` | 503    | Redis (or the REST endpoint in front of it) failed; logged     |
 */
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import {
  CorruptRecordError,
  ShardMismatchError,
  StoreUnavailableError,
  ValidationError,
  type ValidationIssue,
} from '../shared/index.js';
import { withoutCommand } from './upstash-transport.js';

/** The error codes of the API, as listed above. */
export const ERROR_CODES = [
  'invalid_json',
  'invalid_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'payload_too_large',
  'internal',
  'corrupt_record',
  'not_configured',
  'store_unavailable',
] as const;

/** One of `ERROR_CODES`. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The code of an HTTP error raised by Hono or a middleware, where its status has its own. */
const HTTP_ERROR_CODES: Partial<Record<number, ErrorCode>> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
};

/** The body of every error response. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/** Extra parts of an `ApiError`. */
export interface ApiErrorOptions {
  /** Machine-readable context, returned as `error.details`. */
  details?: Record<string, unknown>;
  /** Response headers (e.g. `WWW-Authenticate`, `Retry-After`). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * An error with a status, a code and a message meant for the caller.
 *
 * @example
 * throw new ApiError(404, 'not_found', `No task ${id}`, { details: { id } });
 */
export class ApiError extends HTTPException {
  override name = 'ApiError';
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    override readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    options: ApiErrorOptions = {},
  ) {
    super(status, { message, cause: options.cause });
    this.details = options.details;
    this.headers = options.headers;
  }
}

/** True when `issue` is prepareEnqueue's payload byte-limit issue (413, not 400). */
export function isPayloadSizeIssue(issue: ValidationIssue): boolean {
  return issue.code === 'too_large';
}

/**
 * The error for a request that failed validation: 413 `payload_too_large` when a payload is over
 * its byte limit, otherwise 400 `invalid_request`; `details.issues` lists every issue either way.
 */
export function validationError(issues: readonly ValidationIssue[]): ApiError {
  const [first] = issues;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  const summary = first ? `${first.path}: ${first.message}${more}` : 'Invalid request';
  const tooLarge = issues.some(isPayloadSizeIssue);
  return tooLarge
    ? new ApiError(413, 'payload_too_large', summary, { details: { issues } })
    : new ApiError(400, 'invalid_request', summary, { details: { issues } });
}

/** Retry hint sent with 503 answers. */
const RETRY_AFTER_SECONDS = '1';

/** Turns any error into the API's answer (an `ApiError`), for `app.onError`. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  // The shared rules refused an argument before anything was sent (QueueClient's checks).
  if (error instanceof ValidationError) return validationError(error.issues);
  if (error instanceof StoreUnavailableError) {
    return new ApiError(
      503,
      'store_unavailable',
      'The task store is unavailable; retry later (with the same idempotencyKey, so a task ' +
        'that was written before the failure is not written twice).',
      { headers: { 'Retry-After': RETRY_AFTER_SECONDS }, cause: error },
    );
  }
  if (error instanceof ShardMismatchError) {
    // FORKLIFT_SHARDS differs from the count the queue is declared with: nothing was written.
    return new ApiError(503, 'not_configured', error.message, { cause: error });
  }
  if (error instanceof CorruptRecordError) {
    return new ApiError(500, 'corrupt_record', error.message, {
      details: { id: error.taskId },
      cause: error,
    });
  }
  if (error instanceof HTTPException) {
    // Raised by Hono itself or a library middleware (e.g. 415 from a validator).
    const status = error.status as ContentfulStatusCode;
    const code: ErrorCode =
      HTTP_ERROR_CODES[status] ?? (status < 500 ? 'invalid_request' : 'internal');
    return new ApiError(status, code, error.message || 'Request failed', { cause: error });
  }
  return new ApiError(500, 'internal', 'Internal error', { cause: error });
}

/** The JSON body of `error`. */
export function errorBody(error: ApiError): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
}

/** One log line for an error answered with a 5xx status (Workers Logs collects console output). */
export function logServerError(error: ApiError, request: Request): void {
  const cause = error.cause instanceof Error ? error.cause : undefined;
  const line = {
    level: error.code === 'store_unavailable' ? 'warn' : 'error',
    msg: 'request failed',
    method: request.method,
    path: new URL(request.url).pathname,
    status: error.status,
    code: error.code,
    error: cause ? describeCause(cause) : error.message,
  };
  console.error(JSON.stringify(line));
}

function describeCause(error: Error): string {
  const text = `${error.name}: ${withoutCommand(error.message)}`;
  return error.cause instanceof Error ? `${text} (cause: ${describeCause(error.cause)})` : text;
}
