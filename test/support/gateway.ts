/**
 * Starts the REST gateway in-process for tests, in front of the test Redis (or any Redis URL),
 * on a free port with random tokens. Reuse it from any test that needs an Upstash-compatible
 * endpoint (e.g. the edge app under Miniflare).
 *
 * @example
 * const gw = await startTestGateway();
 * const redis = new Redis({ url: gw.url, token: gw.token }); // @upstash/redis
 * afterAll(() => gw.close());
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Redis as IORedis } from 'ioredis';
import { pino } from 'pino';
import {
  type GatewayConfig,
  gatewayConfig,
  parseAllowList,
} from '../../worker-host/gateway/config.js';
import { startGateway } from '../../worker-host/gateway/server.js';
import { freePort } from './ports.js';

/** A running test gateway. */
export interface TestGateway {
  /** Base URL, e.g. `http://127.0.0.1:43121`. */
  url: string;
  port: number;
  /** A full-access token. */
  token: string;
  /** A read-only token. */
  readonlyToken: string;
  /** Graceful shutdown; idempotent. */
  close(): Promise<void>;
}

/** Options of {@link startTestGateway}; everything is optional. */
export interface TestGatewayOptions {
  /** @default process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' */
  redisUrl?: string;
  /** Command allowlist, as in `FORKLIFT_GATEWAY_ALLOW` (e.g. `'forklift'`). @default none */
  allow?: string;
  /** Any other config field (maxBodyBytes, poolSize, …). */
  config?: Partial<GatewayConfig>;
  /** pino level for the gateway's logs. @default process.env.FORKLIFT_TEST_LOG_LEVEL ?? 'silent' */
  logLevel?: string;
  /** How long to wait for Redis at start. @default 5000 */
  redisWaitMs?: number;
}

/** Starts a gateway on 127.0.0.1 with an ephemeral port and random tokens. */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const token = `test-${randomBytes(16).toString('hex')}`;
  const readonlyToken = `test-ro-${randomBytes(16).toString('hex')}`;
  const config = gatewayConfig({
    redisUrl: options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    tokens: [token],
    readonlyTokens: [readonlyToken],
    allow: options.allow === undefined ? null : parseAllowList(options.allow),
    port: 0,
    host: '127.0.0.1',
    poolSize: 2,
    shutdownTimeoutMs: 2_000,
    ...options.config,
  });
  const logger = pino({
    name: 'test-gateway',
    level: options.logLevel ?? process.env.FORKLIFT_TEST_LOG_LEVEL ?? 'silent',
  });
  const running = await startGateway(config, {
    logger,
    ...(options.redisWaitMs === undefined ? {} : { redisWaitMs: options.redisWaitMs }),
  });
  return { ...running, token, readonlyToken };
}

/** A private redis-server child process (for tests that kill, flush or restart Redis). */
export interface ThrowawayRedis {
  url: string;
  port: number;
  /** SIGKILLs the server (no-op if not running). */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  restart(): Promise<void>;
}

async function untilPong(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new IORedis(port, '127.0.0.1', {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
}

/**
 * Starts `redis-server` (on PATH) on a free port, without persistence, and waits until it
 * answers. Never point destructive tests at the shared test Redis: use this.
 */
export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    await untilPong(port);
  };
  const kill = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, kill, restart: start };
}
