/**
 * Request bodies: a size cap on the raw bytes (413 before anything is parsed), then JSON.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from './context.js';
import { ApiError } from './errors.js';

/**
 * Methods whose body no route reads. A Fetch `Request` with one of them cannot carry a body, so
 * `bodyLimit`, which re-wraps a streamed (chunked) body in a new Request after counting it, would
 * throw a TypeError (a 500) on a GET or HEAD sent with `Transfer-Encoding: chunked`.
 */
const BODILESS_METHODS = new Set(['GET', 'HEAD']);

/**
 * A body refused by its Content-Length is read and dropped first when it is at most this many
 * times the limit: a runtime that answers while the client is still sending closes the
 * connection with the rest unread, and the client then sees a reset instead of the 413 (undici's
 * fetch does). Larger bodies are refused at once.
 */
const DRAIN_FACTOR = 4;

/** Reads and drops a body not read yet whose Content-Length is at most `cap` bytes. */
async function drainDeclaredBody(request: Request, cap: number): Promise<void> {
  const declared = Number(request.headers.get('content-length'));
  if (!request.body || request.body.locked || !(declared <= cap)) return;
  const reader = request.body.getReader();
  try {
    for (let read = 0; read <= cap; ) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // The client went away: nothing to answer.
  }
}

/**
 * Caps the body at the configured `maxRequestBytes` (by Content-Length when sent, otherwise by
 * counting the stream) and answers 413 `payload_too_large` above it. A GET or HEAD body is
 * ignored, as every route ignores it.
 */
export const limitBody: MiddlewareHandler<AppEnv> = (c, next) => {
  if (BODILESS_METHODS.has(c.req.method)) return next();
  const maxSize = c.var.config.maxRequestBytes;
  return bodyLimit({
    maxSize,
    onError: async () => {
      await drainDeclaredBody(c.req.raw, maxSize * DRAIN_FACTOR);
      throw new ApiError(
        413,
        'payload_too_large',
        `The request body is over the limit of ${maxSize} bytes`,
        { details: { limit: maxSize } },
      );
    },
  })(c, next);
};

/**
 * The body parsed as JSON (whatever the Content-Type).
 * @throws ApiError 400 `invalid_json` when it is empty or not JSON.
 */
export async function readJson(c: Context<AppEnv>): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') throw new ApiError(400, 'invalid_json', 'The request body is empty');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ApiError(400, 'invalid_json', `The request body is not valid JSON: ${reason}`);
  }
}
