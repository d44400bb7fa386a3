/**
 * `forklift dashboard [--port 8788] [--host 127.0.0.1] [--queue NAME]`: the dashboard (the same
 * sub-app the edge mounts at `/ui`) on Node, over ioredis. Tokens come from FORKLIFT_API_TOKENS
 * (full access; required) and FORKLIFT_API_READONLY_TOKENS (read-only). Runs until SIGTERM or
 * SIGINT, then stops taking connections, lets requests in flight finish and closes Redis.
 * `forklift dev` starts one too (`startDashboard`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { QueueClient } from '../../shared/queue-client.js';
import { createDashboard, mountDashboard, type TokenLists } from '../../shared/ui/index.js';
import { createLogger } from '../logger.js';
import { connectRedis } from '../redis/connect.js';
import { ioredisTransport } from '../redis/ioredis-transport.js';
import { redactRedisUrl } from '../redis/redact.js';
import { intFlag, parseCommand } from './args.js';
import { CliError } from './cli-error.js';
import { queueFrom, readCliEnv } from './env.js';
import { redisUnusable } from './redis-client.js';
import { cliSecrets } from './secrets.js';

const HELP = `usage: forklift dashboard [--port 8788] [--host 127.0.0.1] [--queue NAME]

Serves the dashboard (overview, hosts, task search, dead letters, waiting lists) at
http://<host>:<port>/ui, over the Redis at REDIS_URL. Browsers keep its Secure session cookie
over https, or over plain http on localhost only: open http://localhost:<port>/ui.

options:
  --port <port>  TCP port (default 8788; 0 picks a free port)
  --host <host>  interface to bind (default 127.0.0.1)
  --queue NAME   queue to show (default FORKLIFT_QUEUE)

environment:
  FORKLIFT_API_TOKENS           required: comma-separated tokens with full access
  FORKLIFT_API_READONLY_TOKENS  comma-separated tokens that can look but not act
  REDIS_URL, FORKLIFT_QUEUE, FORKLIFT_NAMESPACE, FORKLIFT_LOG_LEVEL as for every command`;

/** Comma-separated tokens as a list. */
export function tokenList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '');
}

/** Options of `startDashboard`. */
export interface DashboardServerOptions {
  redisUrl: string;
  queue: string;
  namespace: string;
  /** The queue's shard count. @default 1 */
  shards?: number;
  tokens: TokenLists;
  port: number;
  host: string;
  logger: Logger;
}

/** A running dashboard server. */
export interface DashboardServer {
  /** `http://localhost:<port>/ui` when bound to a loopback address, else `http://<host>:<port>/ui`. */
  url: string;
  port: number;
  /** Stops listening, waits for requests in flight (5 s at most), closes Redis; idempotent. */
  close(): Promise<void>;
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
 * Connects to Redis (checking it answers), then serves the dashboard at `/ui`.
 * @throws CliError naming FORKLIFT_API_TOKENS when no full token is given, the Redis (masked)
 *   when it cannot be used, or the address when it cannot be bound.
 */
export async function startDashboard(options: DashboardServerOptions): Promise<DashboardServer> {
  if (options.tokens.full.length === 0) {
    throw new CliError(
      'dashboard: FORKLIFT_API_TOKENS lists no token; the dashboard refuses to serve without authentication (set it to comma-separated tokens)',
      2,
    );
  }
  let lastError: Error | undefined;
  const redis = connectRedis(options.redisUrl, {
    name: 'forklift:dashboard',
    onError: (error) => {
      lastError = error;
    },
  });
  try {
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw redisUnusable(options.redisUrl, error, lastError) ?? error;
  }
  const client = new QueueClient(ioredisTransport(redis), {
    queue: options.queue,
    namespace: options.namespace,
    shards: options.shards ?? 1,
  });
  const setup = { tokens: options.tokens, queueName: options.queue, queue: () => client };
  const app = new Hono();
  app.get('/', (c) => c.redirect('/ui', 302));
  mountDashboard(
    app,
    createDashboard(() => setup),
    '/ui',
  );
  const server = createServer(getRequestListener(app.fetch));
  let address: AddressInfo;
  try {
    address = await listen(server, options.port, options.host);
  } catch (error) {
    redis.disconnect();
    throw new CliError(
      `dashboard: cannot listen on ${options.host}:${options.port} (${error instanceof Error ? error.message : String(error)})`,
      1,
    );
  }
  const loopback = /^(127\.|::1$|localhost$)/.test(options.host);
  const shownHost = loopback
    ? 'localhost'
    : options.host.includes(':')
      ? `[${options.host}]`
      : options.host;
  const url = `http://${shownHost}:${address.port}/ui`;
  options.logger.info(
    { url, queue: options.queue, redis: redactRedisUrl(options.redisUrl) },
    'dashboard listening',
  );
  let closing: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    close: () => {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), 5_000);
        await closed;
        clearTimeout(timer);
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}

/** Runs `forklift dashboard` until a termination signal; resolves to the exit code. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseCommand(
    HELP,
    'dashboard',
    args,
    { port: { type: 'string' }, host: { type: 'string' }, queue: { type: 'string' } },
    false,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  const cli = readCliEnv(env);
  const logger = createLogger(cli.logLevel, { secrets: cliSecrets(env) });
  const dashboard = await startDashboard({
    redisUrl: cli.redisUrl,
    queue: queueFrom(cli, values.queue),
    namespace: cli.namespace,
    shards: cli.shards,
    tokens: {
      full: tokenList(env.FORKLIFT_API_TOKENS),
      read: tokenList(env.FORKLIFT_API_READONLY_TOKENS),
    },
    port: intFlag('--port', values.port, 0, 65_535) ?? 8788,
    host: values.host ?? '127.0.0.1',
    logger,
  });
  process.stdout.write(
    `dashboard: ${dashboard.url}  (log in with a token of FORKLIFT_API_TOKENS)\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'shutting down');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await dashboard.close();
  return 0;
}
