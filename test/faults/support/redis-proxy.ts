/**
 * A fault-injection TCP proxy for Redis, for the fault tests. Clients connect to the proxy as
 * they would to Redis; each client connection gets an upstream connection of its own. The proxy
 * parses RESP in both directions (see `resp-reader.ts`), so it knows which reply answers which
 * command, and can lose a chosen reply on the wire (Redis ran the command, the client never
 * hears back), cut connections, hang Redis, or make it unreachable. Bytes are forwarded as
 * received, frame by frame: a command or reply moves on once it is complete, so the proxy holds a
 * large value whole for a moment. There is no back-pressure, which test traffic does not need.
 * Pub/sub and MONITOR, whose replies do not pair with commands, are not supported.
 *
 * @example
 * const proxy = await startRedisProxy({ host: '127.0.0.1', port: redis.port });
 * const client = new Redis(proxy.url);
 * proxy.dropReply((argv) => argv[0]?.toUpperCase() === 'EVALSHA');
 * afterAll(() => proxy.close());
 */
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { type RespFrame, RespReader } from './resp-reader.js';

/** The Redis a proxy forwards to. */
export interface ProxyTarget {
  host: string;
  port: number;
}

/** What {@link RedisProxy.dropReply} does once a swallowed reply has arrived. */
export interface DropReplyOptions {
  /** How many matching commands lose their reply. @default 1 */
  times?: number;
  /**
   * `'cut'`: close that client connection (and its upstream) right after the swallowed reply,
   * as a network failure would; replies that came before it are delivered. `'keep'`: swallow
   * the reply and carry on, which leaves the client one reply behind (only for testing the
   * proxy itself). @default 'cut'
   */
  then?: 'cut' | 'keep';
}

/** A running proxy. */
export interface RedisProxy {
  /** e.g. `redis://127.0.0.1:43121`. */
  url: string;
  /** The port the proxy listens on, on 127.0.0.1. */
  port: number;
  /**
   * Arms a rule: the next `times` commands (on any connection) for which `match` is true are
   * forwarded to Redis, but their replies are swallowed. `match` receives the command's
   * arguments decoded as UTF-8, argument 0 being the command name as the client sent it (compare
   * case-insensitively); it must not throw. Rules are tried in the order they were armed, and
   * a rule is used up when a matching command is forwarded, even if its reply never comes.
   */
  dropReply(match: (command: string[]) => boolean, options?: DropReplyOptions): void;
  /** Replies swallowed so far by `dropReply` rules (Redis ran those commands). */
  dropped(): number;
  /** Destroys every client and upstream connection now; clients may reconnect. */
  cutAll(): void;
  /**
   * Stops forwarding in both directions: bytes are held, so Redis looks hung. New connections
   * are still accepted, and their bytes are held too.
   */
  pause(): void;
  /** Forwards everything held since {@link RedisProxy.pause}, in order, and carries on. */
  resume(): void;
  /**
   * While on, new connections are accepted and destroyed at once (Redis is unreachable).
   * Turning it on cuts the existing connections.
   */
  refuse(on: boolean): void;
  /** How many commands the proxy has forwarded to Redis so far, on all connections. */
  commands(): number;
  /**
   * Calls `listener` with the arguments (decoded as UTF-8) of every command as it is forwarded,
   * and the id of its client connection (1, 2, … in order of acceptance). Returns a function
   * that unsubscribes.
   */
  onCommand(listener: (argv: string[], connectionId: number) => void): () => void;
  /** Closes the server and every connection; idempotent. */
  close(): Promise<void>;
}

interface Rule {
  match: (command: string[]) => boolean;
  remaining: number;
  afterwards: 'cut' | 'keep';
}

/** A forwarded command still waiting for its reply; `drop` says what to do with the reply. */
interface InFlight {
  drop: 'cut' | 'keep' | undefined;
}

/** One client connection and its upstream connection. */
interface Link {
  id: number;
  client: Socket;
  upstream: Socket;
  requests: RespReader;
  replies: RespReader;
  /** Forwarded commands, oldest first; replies come back in this order. */
  inFlight: InFlight[];
  /** Chunks that arrived while the proxy was paused, in order of arrival. */
  held: { from: 'client' | 'upstream'; chunk: Buffer }[];
  closed: boolean;
}

/** How long a client may take to close after the proxy has ended its side of a cut. */
const CLOSE_GRACE_MS = 1_000;

/** Starts a proxy on 127.0.0.1 (free port) in front of `target`. */
export async function startRedisProxy(target: ProxyTarget): Promise<RedisProxy> {
  const links = new Set<Link>();
  const rules: Rule[] = [];
  const listeners = new Set<(argv: string[], connectionId: number) => void>();
  let nextId = 1;
  let forwarded = 0;
  let swallowed = 0;
  let paused = false;
  let refusing = false;
  let closing: Promise<void> | undefined;

  const server = createServer((client) => {
    client.on('error', () => {});
    if (refusing || closing) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: target.host, port: target.port });
    upstream.on('error', () => {});
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const link: Link = {
      id: nextId++,
      client,
      upstream,
      requests: new RespReader('request'),
      replies: new RespReader('reply'),
      inFlight: [],
      held: [],
      closed: false,
    };
    links.add(link);
    client.on('data', (chunk: Buffer) => receive(link, 'client', chunk));
    upstream.on('data', (chunk: Buffer) => receive(link, 'upstream', chunk));
    // Either side going away takes the other with it; what was already forwarded is delivered.
    client.on('close', () => destroy(link));
    upstream.on('close', () => endGracefully(link));
  });
  server.on('error', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  function receive(link: Link, from: 'client' | 'upstream', chunk: Buffer): void {
    if (link.closed) return;
    if (paused) {
      link.held.push({ from, chunk });
      return;
    }
    handle(link, from, chunk);
  }

  function handle(link: Link, from: 'client' | 'upstream', chunk: Buffer): void {
    let frames: RespFrame[];
    try {
      frames = (from === 'client' ? link.requests : link.replies).feed(chunk);
    } catch {
      destroy(link);
      return;
    }
    if (from === 'client') forwardRequests(link, frames);
    else forwardReplies(link, frames);
  }

  function forwardRequests(link: Link, frames: RespFrame[]): void {
    for (const frame of frames) {
      // Frames without arguments (an empty inline line, `*0`) get no reply from Redis.
      if (frame.args.length > 0) {
        const argv = frame.args.map((arg) => arg.toString('utf8'));
        link.inFlight.push({ drop: takeRule(argv) });
        forwarded += 1;
        for (const listener of listeners) listener(argv, link.id);
      }
      link.upstream.write(frame.raw);
    }
  }

  function takeRule(argv: string[]): 'cut' | 'keep' | undefined {
    const index = rules.findIndex((rule) => rule.match(argv));
    const rule = rules[index];
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) rules.splice(index, 1);
    return rule.afterwards;
  }

  function forwardReplies(link: Link, frames: RespFrame[]): void {
    for (const frame of frames) {
      // A RESP3 push answers no command.
      const command = frame.type === '>' ? undefined : link.inFlight.shift();
      if (command?.drop) swallowed += 1;
      if (command?.drop === 'cut') {
        endGracefully(link);
        return;
      }
      if (command?.drop === 'keep') continue;
      link.client.write(frame.raw);
    }
  }

  /**
   * Stops forwarding, closes the upstream now and the client once what was written to it has
   * been flushed (`destroy` would discard it). The link stays listed until the client closes, so
   * that {@link RedisProxy.cutAll} and {@link RedisProxy.close} still reach it.
   */
  function endGracefully(link: Link): void {
    if (link.closed) return;
    link.closed = true;
    link.held = [];
    link.upstream.destroy();
    link.client.end(() => link.client.destroy());
    setTimeout(() => link.client.destroy(), CLOSE_GRACE_MS).unref();
  }

  function destroy(link: Link): void {
    link.closed = true;
    link.held = [];
    links.delete(link);
    link.client.destroy();
    link.upstream.destroy();
  }

  const cutAll = (): void => {
    for (const link of [...links]) destroy(link);
  };

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dropReply(match, options = {}) {
      const times = options.times ?? 1;
      if (!Number.isInteger(times) || times < 1)
        throw new RangeError(`times must be a positive integer: ${times}`);
      rules.push({ match, remaining: times, afterwards: options.then ?? 'cut' });
    },
    cutAll,
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const link of [...links]) {
        const held = link.held;
        link.held = [];
        for (const { from, chunk } of held) {
          if (link.closed) break;
          handle(link, from, chunk);
        }
      }
    },
    refuse(on) {
      refusing = on;
      if (on) cutAll();
    },
    commands: () => forwarded,
    dropped: () => swallowed,
    onCommand(listener) {
      // Wrapped so that subscribing the same function twice yields two subscriptions.
      const wrapped = (argv: string[], connectionId: number) => listener(argv, connectionId);
      listeners.add(wrapped);
      return () => {
        listeners.delete(wrapped);
      };
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        cutAll();
      });
      return closing;
    },
  };
}
