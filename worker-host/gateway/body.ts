/**
 * Reading a request body with a size limit. A declared `Content-Length` above the limit is
 * refused before reading anything; a chunked body is counted as it arrives and reading stops at
 * the limit (the HTTP layer drains or closes the rest after the 413 answer is sent).
 */

/** The body is larger than the configured limit; answered 413. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(readonly limit: number) {
    super(`ERR request body exceeds the limit of ${limit} bytes`);
  }
}

/**
 * The whole body as bytes (empty when there is none).
 * @throws {BodyTooLargeError} when it is larger than `limit` bytes.
 */
export async function readBody(request: Request, limit: number): Promise<Buffer> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw new BodyTooLargeError(limit);
  if (declared !== null) {
    // arrayBuffer() is the Node adapter's fast path; touching `request.body` would build a stream.
    const bytes = Buffer.from(await request.arrayBuffer());
    if (bytes.length > limit) throw new BodyTooLargeError(limit);
    return bytes;
  }
  if (request.body === null) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      reader.releaseLock();
      throw new BodyTooLargeError(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}
