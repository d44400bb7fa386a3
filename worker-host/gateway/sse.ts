/**
 * Pub/sub over server-sent events (upstash-rest-protocol.md §9).
 *
 * `POST|GET /subscribe/<channel>` or `/psubscribe/<pattern>` opens a Redis connection of its own,
 * subscribes, and streams one event per Redis message, as the official client parses them:
 *
 *     data: subscribe,<channel>,<count>
 *     data: message,<channel>,<payload>
 *     data: psubscribe,<pattern>,<count>
 *     data: pmessage,<pattern>,<channel>,<payload>
 *
 * Payloads are raw UTF-8 (never base64). A payload containing a line break is sent as several
 * `data:` lines of one event, as SSE requires; the official client cannot represent it anyway.
 * A comment line every 15 s keeps idle streams alive through proxies. When the client goes
 * away, or the gateway shuts down, the stream ends and the Redis connection is closed.
 *
 * Limits:
 * - A client that reads slower than messages arrive is dropped once more than
 *   `maxBufferedBytes` (default 1 MiB) wait for it in the gateway (sse-outbox.ts): the backlog
 *   is discarded, its Redis connection closed, and the stream ends with one last event,
 *   `event: error` / `data: error,<channel>,ERR subscriber too slow: …`. Other subscribers,
 *   each on a connection of its own, are not affected.
 * - A stream takes its place in {@link Subscriptions} synchronously, before its first await, so
 *   the caller's cap check (`registry.size`) directly followed by {@link openSubscription} is
 *   atomic: concurrent requests cannot all pass the check while the connections are made.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RedisUnavailableError } from './redis-pool.js';
import { SseOutbox } from './sse-outbox.js';

/** `subscribe` for channels, `psubscribe` for patterns. */
export type SubscribeKind = 'subscribe' | 'psubscribe';

/** Default of {@link SubscriptionsOptions.maxBufferedBytes}: 1 MiB. */
export const DEFAULT_MAX_BUFFERED_BYTES = 1_048_576;

const KEEPALIVE_MS = 15_000;
const encoder = new TextEncoder();

/** One SSE event; each line of `text` becomes a `data:` line, after `event: <type>` if given. */
function sseEvent(text: string, type?: string): string {
  const data = text
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}`)
    .join('\n');
  return `${type === undefined ? '' : `event: ${type}\n`}${data}\n\n`;
}

/** What {@link Subscriptions} knows of one open stream. */
interface OpenStream {
  end(): void;
  readonly bufferedBytes: number;
}

/** Options of {@link Subscriptions}. */
export interface SubscriptionsOptions {
  /**
   * Most bytes that may wait in the gateway for one subscriber that reads too slowly; past it
   * the subscriber is dropped (a single larger event still passes to a subscriber that keeps
   * up). @default {@link DEFAULT_MAX_BUFFERED_BYTES}
   */
  maxBufferedBytes?: number;
}

/** A snapshot of {@link Subscriptions}, for tests and metrics. */
export interface SubscriptionStats {
  /** Streams open or being opened (what the subscriber cap counts). */
  open: number;
  /** Bytes waiting in the gateway for their clients, over all open streams. */
  bufferedBytes: number;
  /** Subscribers dropped so far for reading too slowly. */
  droppedSlow: number;
}

/** The open streams of one gateway, so shutdown can end them, and their limits. */
export class Subscriptions {
  /** Per-subscriber buffer limit in bytes; see {@link SubscriptionsOptions}. */
  readonly maxBufferedBytes: number;
  private readonly open = new Set<OpenStream>();
  private droppedSlow = 0;

  /** @throws {RangeError} when `maxBufferedBytes` is not a positive integer. */
  constructor(options: SubscriptionsOptions = {}) {
    const max = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`maxBufferedBytes must be a positive integer, got ${max}`);
    }
    this.maxBufferedBytes = max;
  }

  /** Number of open streams, including those still connecting to Redis. */
  get size(): number {
    return this.open.size;
  }

  /** Current counts; see {@link SubscriptionStats}. */
  stats(): SubscriptionStats {
    let bufferedBytes = 0;
    for (const s of this.open) bufferedBytes += s.bufferedBytes;
    return { open: this.open.size, bufferedBytes, droppedSlow: this.droppedSlow };
  }

  /** @internal */
  add(stream: OpenStream): void {
    this.open.add(stream);
  }

  /** @internal */
  delete(stream: OpenStream): void {
    this.open.delete(stream);
  }

  /** @internal */
  countSlowDrop(): void {
    this.droppedSlow++;
  }

  /** Ends every open stream (their Redis connections close). */
  endAll(): void {
    for (const s of [...this.open]) s.end();
  }
}

/** Where a subscription gets its connection (RedisPool, or ClusterPool: any master will do). */
export interface SubscriberSource {
  /** A new ready connection of its own. */
  dedicatedConnection(role: string): Promise<Redis>;
  /** Closes a connection from `dedicatedConnection`; safe to call twice. */
  closeDedicated(conn: Redis): void;
}

/** What {@link openSubscription} needs. */
export interface SubscriptionRequest {
  kind: SubscribeKind;
  /** Channel or pattern, already percent-decoded. */
  target: string;
  pool: SubscriberSource;
  registry: Subscriptions;
  /** Aborted when the client disconnects. */
  signal: AbortSignal;
  logger: Logger;
}

/**
 * Subscribes on a dedicated connection and returns the streaming body.
 *
 * The stream is added to `req.registry` before this function first awaits, and removed when it
 * ends or fails: check the cap on `registry.size` right before calling, with no await between.
 * @throws {RedisUnavailableError} when Redis cannot be reached.
 */
export async function openSubscription(
  req: SubscriptionRequest,
): Promise<ReadableStream<Uint8Array>> {
  const { registry, pool, signal, logger } = req;
  const limit = registry.maxBufferedBytes;
  let conn: Redis | undefined;
  let ended = false;
  const outbox = new SseOutbox(limit, () => end());
  const entry: OpenStream = {
    end: () => end(),
    get bufferedBytes() {
      return outbox.bufferedBytes;
    },
  };
  /** Ends the stream and frees its slot; with `last`, the backlog is dropped for that event. */
  const end = (last?: string) => {
    if (ended) return;
    ended = true;
    clearInterval(keepalive);
    registry.delete(entry);
    signal.removeEventListener('abort', onAbort);
    if (conn) pool.closeDedicated(conn);
    outbox.close(last === undefined ? undefined : encoder.encode(last));
    logger.debug({ kind: req.kind }, 'subscription ended');
  };
  const onAbort = () => end();
  const write = (text: string) => {
    if (ended || outbox.push(encoder.encode(text))) return;
    registry.countSlowDrop();
    logger.warn(
      { kind: req.kind, bufferedBytes: outbox.bufferedBytes, maxBufferedBytes: limit },
      'dropped a subscriber that reads too slowly',
    );
    end(
      sseEvent(
        `error,${req.target},ERR subscriber too slow: more than ${limit} bytes waiting to be sent; subscription closed`,
        'error',
      ),
    );
  };
  const keepalive = setInterval(() => write(': keepalive\n\n'), KEEPALIVE_MS);
  keepalive.unref();

  // Reserve the slot before the first await (see above).
  registry.add(entry);
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) {
    end();
    return outbox.stream;
  }
  try {
    conn = await pool.dedicatedConnection('subscriber');
  } catch (error) {
    end();
    throw error;
  }
  if (ended) {
    // The client left, or the gateway shut down, while connecting.
    pool.closeDedicated(conn);
    return outbox.stream;
  }
  conn.on('messageBuffer', (channel: Buffer, message: Buffer) => {
    write(sseEvent(`message,${channel.toString('utf8')},${message.toString('utf8')}`));
  });
  conn.on('pmessageBuffer', (pattern: string | Buffer, channel: Buffer, message: Buffer) => {
    write(
      sseEvent(
        `pmessage,${pattern.toString()},${channel.toString('utf8')},${message.toString('utf8')}`,
      ),
    );
  });
  try {
    const count =
      req.kind === 'subscribe'
        ? await conn.subscribe(req.target)
        : await conn.psubscribe(req.target);
    write(sseEvent(`${req.kind},${req.target},${count}`));
  } catch (error) {
    end();
    if (error instanceof Error && error.name === 'ReplyError') throw error;
    throw new RedisUnavailableError(
      `Redis is unavailable: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return outbox.stream;
}
