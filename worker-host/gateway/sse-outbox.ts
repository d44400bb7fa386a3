/**
 * The bounded buffer between Redis and one SSE response (used by sse.ts).
 *
 * Redis pushes messages as fast as they are published; the HTTP client reads at its own pace.
 * The response stream is pull-based (high-water mark 0): a chunk is handed to the HTTP writer
 * only when it asks for one, which `@hono/node-server` does only while the socket drains. Until
 * then, events wait here, counted, so the caller can tell when a client falls too far behind.
 * Events that wait together are handed over as one chunk.
 */

/** A pull-based byte stream fed by {@link SseOutbox.push}. */
export class SseOutbox {
  /** The response body. */
  readonly stream: ReadableStream<Uint8Array>;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** The reader asked for a chunk and got none yet. */
  private wanted = false;
  private closed = false;

  /**
   * @param maxBufferedBytes the most bytes that may wait; see {@link push}.
   * @param onCancel called when the reader cancels the stream (the client went away).
   */
  constructor(
    private readonly maxBufferedBytes: number,
    onCancel: () => void,
  ) {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: () => {
          this.wanted = true;
          this.flush();
        },
        cancel: () => {
          this.closed = true;
          this.discard();
          onCancel();
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** Bytes queued here and not yet handed to the reader. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /**
   * Queues `chunk` for the reader. Returns `false`, queueing nothing, when it would take the
   * buffer past the limit. A chunk always fits into an empty buffer, so one event larger than
   * the limit passes when the reader keeps up. Ignored (`true`) once closed.
   */
  push(chunk: Uint8Array): boolean {
    if (this.closed) return true;
    if (this.pendingBytes > 0 && this.pendingBytes + chunk.byteLength > this.maxBufferedBytes) {
      return false;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    if (this.wanted) this.flush();
    return true;
  }

  /**
   * Ends the stream after what is queued. With `last`, the queue is discarded first and `last`
   * is the only thing still sent. Idempotent.
   */
  close(last?: Uint8Array): void {
    if (this.closed) return;
    this.closed = true;
    if (last) {
      this.discard();
      this.pending.push(last);
      this.pendingBytes = last.byteLength;
    }
    // What is still queued moves into the stream, which hands it over before its end.
    this.flush(true);
    try {
      this.controller?.close();
    } catch {
      // the reader cancelled the stream meanwhile
    }
  }

  /** Hands everything queued to the reader if it asked for it (or `force`), as one chunk. */
  private flush(force = false): void {
    if (!(this.wanted || force) || this.pending.length === 0) return;
    const chunk =
      this.pending.length === 1
        ? (this.pending[0] as Uint8Array)
        : Buffer.concat(this.pending, this.pendingBytes);
    this.discard();
    this.wanted = false;
    try {
      this.controller?.enqueue(chunk);
    } catch {
      // the reader cancelled the stream meanwhile
    }
  }

  private discard(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }
}
