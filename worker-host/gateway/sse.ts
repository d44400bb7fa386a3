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
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type RedisPool, RedisUnavailableError } from './redis-pool.js';

/** `subscribe` for channels, `psubscribe` for patterns. */
export type SubscribeKind = 'subscribe' | 'psubscribe';

const KEEPALIVE_MS = 15_000;
const encoder = new TextEncoder();

/** One SSE event; each line of `text` becomes a `data:` line. */
function sseEvent(text: string): string {
  return `${text
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}`)
    .join('\n')}\n\n`;
}

/** The open streams of one gateway, so shutdown can end them. */
export class Subscriptions {
  private readonly open = new Set<() => void>();

  /** Number of open streams. */
  get size(): number {
    return this.open.size;
  }

  /** @internal */
  add(end: () => void): void {
    this.open.add(end);
  }

  /** @internal */
  delete(end: () => void): void {
    this.open.delete(end);
  }

  /** Ends every open stream (their Redis connections close). */
  endAll(): void {
    for (const end of [...this.open]) end();
  }
}

/** What {@link openSubscription} needs. */
export interface SubscriptionRequest {
  kind: SubscribeKind;
  /** Channel or pattern, already percent-decoded. */
  target: string;
  pool: RedisPool;
  registry: Subscriptions;
  /** Aborted when the client disconnects. */
  signal: AbortSignal;
  logger: Logger;
}

/**
 * Subscribes on a dedicated connection and returns the streaming body.
 * @throws {RedisUnavailableError} when Redis cannot be reached.
 */
export async function openSubscription(
  req: SubscriptionRequest,
): Promise<ReadableStream<Uint8Array>> {
  const conn: Redis = await req.pool.dedicatedConnection('subscriber');
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let ended = false;
  const write = (text: string) => {
    if (ended || !controller) return;
    try {
      controller.enqueue(encoder.encode(text));
    } catch {
      end();
    }
  };
  const keepalive = setInterval(() => write(': keepalive\n\n'), KEEPALIVE_MS);
  keepalive.unref();
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(keepalive);
    req.registry.delete(end);
    req.signal.removeEventListener('abort', end);
    req.pool.closeDedicated(conn);
    try {
      controller?.close();
    } catch {
      // already closed or errored by the consumer
    }
    req.logger.debug({ kind: req.kind }, 'subscription ended');
  };
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      end();
    },
  });
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
  req.registry.add(end);
  req.signal.addEventListener('abort', end, { once: true });
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
  if (req.signal.aborted) end();
  return stream;
}
