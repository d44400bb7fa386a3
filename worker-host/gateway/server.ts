/**
 * Starting and stopping the gateway: a Node HTTP server (`@hono/node-server`) around the Hono
 * app, with its Redis pool.
 *
 * Shutdown order: stop accepting connections, end SSE streams, let in-flight requests finish
 * (up to `shutdownTimeoutMs`, then cut the rest), close idle keep-alive sockets, then quit the
 * Redis connections. A request that already ran a write is always answered before its socket
 * is closed, unless the timeout forces it.
 */
import { createServer, type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { getRequestListener, RequestError } from '@hono/node-server';
import { type Logger, pino } from 'pino';
import { isClusterUrl } from '../redis/cluster-url.js';
import { redactRedisUrl } from '../redis/redact.js';
import { createGatewayApp } from './app.js';
import { ClusterPool } from './cluster-pool.js';
import type { GatewayConfig } from './config.js';
import { errorBody } from './encoding.js';
import { nextSyncToken } from './exchange.js';
import { RedisPool } from './redis-pool.js';
import { Subscriptions } from './sse.js';

/** A running gateway. */
export interface RunningGateway {
  /** Base URL for clients, e.g. `http://127.0.0.1:8079`. */
  url: string;
  /** The port actually bound (useful with `port: 0`). */
  port: number;
  /** Graceful shutdown; idempotent, resolves when everything is closed. */
  close(): Promise<void>;
}

/** Optional collaborators of {@link startGateway}. */
export interface StartGatewayOptions {
  /** Where request and error lines go. @default pino at `config.logLevel` on stdout */
  logger?: Logger;
  /** How long to wait for Redis before serving anyway (503 until it comes). @default 5000 */
  redisWaitMs?: number;
}

/**
 * The answer to a request the HTTP adapter cannot turn into a Fetch `Request` (a backslash in
 * the path, a target that is not a path such as `*`, a bad or missing Host header), where the
 * adapter itself would answer an empty 400: the protocol's JSON `{"error"}` and a sync token.
 */
function adapterError(error: unknown, logger: Logger): Response {
  const headers = { 'content-type': 'application/json', 'upstash-sync-token': nextSyncToken() };
  if (error instanceof RequestError) {
    return new Response(errorBody(`ERR malformed request: ${error.message}`), {
      status: 400,
      headers,
    });
  }
  logger.error({ err: error }, 'unexpected gateway error');
  return new Response(errorBody('ERR internal gateway error'), { status: 500, headers });
}

/**
 * Node's answer to bytes it cannot parse as an HTTP request (an unknown method token, a
 * malformed header line, headers too large), with node's status but the protocol's JSON
 * `{"error"}` and a sync token instead of an empty body; then the connection is closed (at the
 * latest 2 s later, should the client keep its side open).
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const started = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || started?.headersSent) {
    socket.destroy();
    return;
  }
  const status =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
        ? 413
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 408
          : 400;
  const body = errorBody(`ERR malformed HTTP request (${error.code ?? 'parse error'})`);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `upstash-sync-token: ${nextSyncToken()}\r\n\r\n${body}`,
  );
  const linger = setTimeout(() => socket.destroy(), 2_000);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Starts the gateway and resolves once it listens.
 * @example
 * const gw = await startGateway(loadGatewayConfig(process.env, { port: '8079' }));
 * // … later
 * await gw.close();
 */
export async function startGateway(
  config: GatewayConfig,
  options: StartGatewayOptions = {},
): Promise<RunningGateway> {
  const logger = options.logger ?? pino({ name: 'forklift-gateway', level: config.logLevel });
  // A redis+cluster:// URL: routed by slot through an ioredis Cluster (cluster-pool.ts).
  const pool = isClusterUrl(config.redisUrl)
    ? new ClusterPool({ ...config, logger })
    : new RedisPool({ ...config, logger });
  const subscriptions = new Subscriptions({ maxBufferedBytes: config.maxSubscriberBufferBytes });
  const app = createGatewayApp({ config, pool, logger, subscriptions });
  const listener = getRequestListener(app.fetch, {
    overrideGlobalObjects: false,
    errorHandler: (error) => adapterError(error, logger),
  });
  // Without Host, node would answer an empty 400 itself; the adapter's refusal has our shape.
  const server = createServer({ requireHostHeader: false }, listener);
  server.on('clientError', answerClientError);
  server.keepAliveTimeout = 65_000;

  if (!(await pool.ready(options.redisWaitMs ?? 5_000))) {
    logger.warn(
      { redis: redactRedisUrl(config.redisUrl) },
      'redis not reachable yet; answering 503 until it is',
    );
  }
  let address: AddressInfo;
  try {
    address = await listen(server, config.port, config.host);
  } catch (error) {
    await pool.close();
    throw error;
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url, redis: redactRedisUrl(config.redisUrl) }, 'gateway listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      subscriptions.endAll();
      // Keep-alive sockets turn idle as their last response is sent: close them as they do.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 25);
      const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
      await closed;
      clearInterval(sweep);
      clearTimeout(timer);
      await pool.close();
      logger.info('gateway stopped');
    })();
    return closing;
  };
  return { url, port: address.port, close };
}
