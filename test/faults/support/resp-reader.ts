/**
 * An incremental RESP parser for the fault-injection proxy. It never decodes replies into
 * values: it finds where each top-level frame ends, however the bytes were split into chunks,
 * and hands back the frame's original bytes so the proxy can forward them untouched. In request
 * mode it also collects a command's arguments (an array of bulk strings, or an inline command
 * such as `PING\r\n`).
 *
 * It reads RESP2 (`+ - : $ *`, including the null bulk `$-1` and the null array `*-1`) and the
 * RESP3 types Redis sends once a client says `HELLO 3`, as ioredis 6 does by default (`_ , # (
 * ! = % ~ >` and attributes `|`, which belong to the value that follows them). Streamed RESP3
 * strings and aggregates (`$?`, `*?`), which Redis never sends, are rejected.
 */

const CR = 0x0d;
const LF = 0x0a;

/** Redis refuses inline commands longer than this; so does the reader. */
const MAX_INLINE_BYTES = 64 * 1024;

/** Thrown by {@link RespReader.feed} when the bytes are not RESP. */
export class RespProtocolError extends Error {
  override name = 'RespProtocolError';
}

/** One complete top-level RESP frame. */
export interface RespFrame {
  /** The frame's bytes exactly as received (attributes in front of a reply included). */
  raw: Buffer;
  /**
   * The type byte of the top-level value, e.g. `'*'` for an array or `'>'` for a RESP3 push
   * (which answers no command); `'inline'` for an inline command.
   */
  type: string;
  /**
   * Request mode only: the command's arguments, argument 0 being the command name as sent.
   * Empty for frames Redis ignores without replying (an empty line, `*0`, `*-1`).
   */
  args: Buffer[];
}

/** An aggregate whose elements are still being read. */
interface Open {
  remaining: number;
  /** An attribute map does not count as an element of its parent. */
  attribute: boolean;
}

/**
 * Finds frame boundaries in a RESP byte stream, one direction of one connection.
 *
 * @example
 * const reader = new RespReader('request');
 * socket.on('data', (chunk) => {
 *   for (const frame of reader.feed(chunk)) forward(frame.raw);
 * });
 */
export class RespReader {
  /** Bytes of the frame being read, from its first byte. */
  private buf: Buffer = Buffer.alloc(0);
  /** Chunks received but not yet appended to `buf` (a long bulk string arrives in many). */
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  /** `buf` must hold this many bytes before parsing can make progress. */
  private need = 0;
  /** Where parsing resumes in `buf`. */
  private pos = 0;
  /** Length of the bulk string body starting at `pos`, or -1 when reading a type line. */
  private bulk = -1;
  private open: Open[] = [];
  private type = '';
  private args: Buffer[] = [];

  /**
   * @param mode `'request'` for client-to-server bytes (collects arguments, accepts inline
   *   commands), `'reply'` for server-to-client bytes.
   */
  constructor(private readonly mode: 'request' | 'reply') {}

  /**
   * Adds a chunk and returns the frames it completes, in order (often none, for a chunk in the
   * middle of a large value; several, for a pipeline).
   *
   * @throws {RespProtocolError} when the stream is not RESP; the reader is unusable afterwards.
   */
  feed(chunk: Buffer): RespFrame[] {
    this.waiting.push(chunk);
    this.waitingBytes += chunk.length;
    if (this.buf.length + this.waitingBytes < this.need) return [];
    this.buf =
      this.buf.length === 0 && this.waiting.length === 1
        ? chunk
        : Buffer.concat([this.buf, ...this.waiting]);
    this.waiting = [];
    this.waitingBytes = 0;

    const frames: RespFrame[] = [];
    let start = 0;
    for (;;) {
      const end = this.parse();
      if (end === undefined) break;
      frames.push({ raw: this.buf.subarray(start, end), type: this.type, args: this.args });
      start = end;
      this.type = '';
      this.args = [];
    }
    if (start > 0) {
      this.buf = this.buf.subarray(start);
      this.pos -= start;
      this.need = Math.max(0, this.need - start);
    }
    return frames;
  }

  /**
   * Reads from `pos` until a top-level frame ends (returns its end offset in `buf`) or the bytes
   * run out (returns undefined, with `need` set).
   */
  private parse(): number | undefined {
    const buf = this.buf;
    for (;;) {
      if (this.bulk >= 0) {
        const end = this.pos + this.bulk + 2;
        if (buf.length < end) {
          this.need = end;
          return undefined;
        }
        if (buf[end - 2] !== CR || buf[end - 1] !== LF) {
          throw new RespProtocolError('bulk string not terminated by CRLF');
        }
        if (this.mode === 'request' && this.open.length === 1) {
          this.args.push(buf.subarray(this.pos, end - 2));
        }
        this.pos = end;
        this.bulk = -1;
        if (this.completeValue()) return this.pos;
        continue;
      }

      if (this.pos >= buf.length) {
        this.need = this.pos + 1;
        return undefined;
      }
      if (this.mode === 'request' && this.open.length === 0 && buf[this.pos] !== 0x2a) {
        return this.parseInline();
      }

      const lineEnd = buf.indexOf('\r\n', this.pos + 1, 'latin1');
      if (lineEnd < 0) {
        this.need = buf.length + 1;
        return undefined;
      }
      const type = String.fromCharCode(buf[this.pos] as number);
      const text = buf.toString('latin1', this.pos + 1, lineEnd);
      this.pos = lineEnd + 2;
      if (this.open.length === 0 && type !== '|') this.type = type;

      switch (type) {
        case '+':
        case '-':
        case ':':
        case '_':
        case ',':
        case '#':
        case '(':
          if (this.completeValue()) return this.pos;
          break;
        case '$':
        case '!':
        case '=': {
          const length = this.length(text);
          if (length < 0) {
            if (this.completeValue()) return this.pos;
          } else {
            this.bulk = length;
          }
          break;
        }
        case '*':
        case '~':
        case '>':
        case '%':
        case '|': {
          const count = this.length(text) * (type === '%' || type === '|' ? 2 : 1);
          if (count > 0) {
            this.open.push({ remaining: count, attribute: type === '|' });
          } else if (type !== '|' && this.completeValue()) {
            return this.pos;
          }
          break;
        }
        default:
          throw new RespProtocolError(
            `unknown RESP type byte 0x${type.charCodeAt(0).toString(16)}`,
          );
      }
    }
  }

  /** An inline command: one line, arguments separated by blanks (no quoting). */
  private parseInline(): number | undefined {
    const buf = this.buf;
    const lineEnd = buf.indexOf(LF, this.pos);
    if (lineEnd < 0) {
      if (buf.length - this.pos > MAX_INLINE_BYTES) {
        throw new RespProtocolError('inline command too long');
      }
      this.need = buf.length + 1;
      return undefined;
    }
    const line = buf.toString('latin1', this.pos, lineEnd);
    this.type = 'inline';
    this.args = line
      .split(/[ \t\r]+/)
      .filter((word) => word.length > 0)
      .map((word) => Buffer.from(word, 'latin1'));
    this.pos = lineEnd + 1;
    return this.pos;
  }

  private length(text: string): number {
    if (!/^-?\d+$/.test(text))
      throw new RespProtocolError(`bad RESP length ${JSON.stringify(text)}`);
    const length = Number(text);
    if (length < -1) throw new RespProtocolError(`bad RESP length ${length}`);
    return length;
  }

  /**
   * Records that a value just ended; closes every aggregate it completes. True when the
   * top-level frame is complete.
   */
  private completeValue(): boolean {
    for (;;) {
      const parent = this.open[this.open.length - 1];
      if (!parent) return true;
      parent.remaining -= 1;
      if (parent.remaining > 0) return false;
      this.open.pop();
      // A finished attribute map is not a value of its own: the value it annotates follows.
      if (parent.attribute) return false;
    }
  }
}
