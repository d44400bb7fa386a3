/**
 * Request bodies: a size cap on the raw bytes (413 before anything is parsed), then JSON.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from './context.js';
import { ApiError } from './errors.js';

/**
 * Methods whose body no route reads. A Fetch `Request` with one of them cannot carry a body, so
 * re-wrapping a counted (chunked) body in a new Request would throw a TypeError (a 500) on a GET
 * or HEAD sent with `Transfer-Encoding: chunked`.
 */
const BODILESS_METHODS = new Set(['GET', 'HEAD']);

/**
 * A refused body is read (and dropped) to its end first when it is at most this many times the
 * limit: a runtime that answers while the client is still sending closes the connection with the
 * rest unread, and the client then sees a reset instead of the 413 (undici's fetch does, for a
 * declared length and for a chunked body alike). Anything larger is refused as soon as it is
 * known to be over.
 */
const DRAIN_FACTOR = 4;

/**
 * Caps the body at the configured `maxRequestBytes` (by Content-Length when sent, otherwise by
 * counting the stream) and answers 413 `payload_too_large` above it. A GET or HEAD body is
 * ignored, as every route ignores it. Hono's `bodyLimit` does the same counting, but stops
 * reading at the limit and holds the stream, so it could not drain (see DRAIN_FACTOR).
 */
export const limitBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  const request = c.req.raw;
  if (BODILESS_METHODS.has(c.req.method) || !request.body) return next();
  const maxSize = c.var.config.maxRequestBytes;
  const drainCap = maxSize * DRAIN_FACTOR;
  const declared = request.headers.get('content-length');
  if (declared !== null && !request.headers.has('transfer-encoding')) {
    const length = Number.parseInt(declared, 10);
    if (!(length > maxSize)) return next();
    if (length <= drainCap) await drain(request.body.getReader(), drainCap);
    throw tooLarge(maxSize);
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxSize) {
      await drain(reader, drainCap - size);
      throw tooLarge(maxSize);
    }
    chunks.push(value);
  }
  c.req.raw = new Request(request, { body: concat(chunks, size) });
  return next();
};

function tooLarge(maxSize: number): ApiError {
  return new ApiError(
    413,
    'payload_too_large',
    `The request body is over the limit of ${maxSize} bytes`,
    { details: { limit: maxSize } },
  );
}

/** Reads and drops up to `budget` more bytes of a body (stops early at its end). */
async function drain(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  budget: number,
): Promise<void> {
  try {
    for (let left = budget; left >= 0; ) {
      const { done, value } = await reader.read();
      if (done) return;
      left -= value.byteLength;
    }
    await reader.cancel();
  } catch {
    // The client went away: nothing to answer.
  }
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

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
