/**
 * `forklift dev`: the whole local stack in one command (what `npm start` runs).
 *
 *   Redis ◄── gateway (Upstash REST, :8079) ◄── edge Worker (wrangler dev / workerd, :8787)
 *     ▲
 *     └────── worker host (BLPOP + forked pool)
 *
 * Uses the Redis at REDIS_URL; when nothing answers at the local default and `redis-server` is
 * on the PATH, starts one without persistence for the session. Tokens come from
 * FORKLIFT_GATEWAY_TOKENS / FORKLIFT_API_TOKENS, or are made up for the session and printed.
 * Ctrl-C stops everything gracefully.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadGatewayConfig } from '../gateway/config.js';
import { startGateway } from '../gateway/server.js';
import { startWorkerHost } from '../host.js';
import { createLogger } from '../logger.js';
import { redisAnswers } from '../redis/probe.js';
import { intFlag, parseCommand } from './args.js';
import { CliError } from './cli-error.js';
import { readCliEnv } from './env.js';

const HELP = `usage: forklift dev [--concurrency N] [--gateway-port 8079] [--edge-port 8787] [--no-edge]

Runs Redis (if none answers at the local default), the REST gateway, a worker host and the edge
Worker under wrangler dev, and prints how to call it. Ctrl-C stops everything.`;

const WRANGLER_OFFLINE = {
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
};

async function ensureRedis(url: string): Promise<ChildProcess | undefined> {
  if (await redisAnswers(url)) return undefined;
  const local = /^redis:\/\/(127\.0\.0\.1|localhost)(:6379)?\/?$/.test(url);
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], {
    encoding: 'utf8',
  }).stdout.trim();
  if (!local || !found) {
    throw new CliError(
      `nothing answers at REDIS_URL=${url}; start Redis or point REDIS_URL at one`,
      1,
    );
  }
  const child = spawn(
    found,
    ['--port', '6379', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(url)) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new CliError('started redis-server but it does not answer on 127.0.0.1:6379', 1);
}

/** Runs `forklift dev`. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseCommand(
    HELP,
    'dev',
    args,
    {
      concurrency: { type: 'string' },
      'gateway-port': { type: 'string' },
      'edge-port': { type: 'string' },
      'no-edge': { type: 'boolean' },
    },
    false,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  const cli = readCliEnv(env);
  const log = createLogger(cli.logLevel);
  const gatewayPort = intFlag('--gateway-port', values['gateway-port'], 1, 65_535) ?? 8079;
  const edgePort = intFlag('--edge-port', values['edge-port'], 1, 65_535) ?? 8787;
  const concurrency = intFlag('--concurrency', values.concurrency, 1, 1024);
  const gatewayToken =
    env.FORKLIFT_GATEWAY_TOKENS?.split(',')[0]?.trim() || `gw-${randomBytes(12).toString('hex')}`;
  const apiToken =
    env.FORKLIFT_API_TOKENS?.split(',')[0]?.trim() || `api-${randomBytes(12).toString('hex')}`;

  const redisChild = await ensureRedis(cli.redisUrl);
  if (redisChild)
    log.info('started redis-server on 127.0.0.1:6379 (no persistence) for this session');

  const gateway = await startGateway(
    loadGatewayConfig(
      {
        ...env,
        REDIS_URL: cli.redisUrl,
        FORKLIFT_GATEWAY_TOKENS: env.FORKLIFT_GATEWAY_TOKENS || gatewayToken,
      },
      { port: String(gatewayPort) },
    ),
    { logger: log.child({ component: 'gateway' }) },
  );
  const host = await startWorkerHost({
    redisUrl: cli.redisUrl,
    queue: cli.queue,
    namespace: cli.namespace,
    ...(concurrency === undefined ? {} : { concurrency }),
    logger: log.child({ component: 'worker' }),
  });

  let edge: ChildProcess | undefined;
  if (!values['no-edge']) {
    const wrangler = resolve('node_modules/.bin/wrangler');
    if (!existsSync(wrangler))
      throw new CliError('node_modules/.bin/wrangler is missing: run npm ci', 1);
    const vars = {
      UPSTASH_REDIS_REST_URL: gateway.url,
      UPSTASH_REDIS_REST_TOKEN: gatewayToken,
      FORKLIFT_API_TOKENS: apiToken,
      FORKLIFT_QUEUE: cli.queue,
      FORKLIFT_NAMESPACE: cli.namespace,
    };
    edge = spawn(
      wrangler,
      [
        'dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(edgePort),
        ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
      ],
      { stdio: ['ignore', 'inherit', 'inherit'], env: { ...env, ...WRANGLER_OFFLINE } },
    );
  }

  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  process.stdout.write(
    [
      '',
      'Forklift dev stack is up:',
      `  gateway   ${gateway.url}   (token ${gatewayToken})`,
      edge
        ? `  edge      ${edgeUrl}   (API token ${apiToken})`
        : '  edge      not started (--no-edge)',
      `  worker    ${host.hostId}   queue '${cli.queue}' on ${cli.redisUrl}`,
      '',
      'Try:',
      `  curl -s -X POST ${edgeUrl}/v1/tasks -H 'authorization: Bearer ${apiToken}' -H 'content-type: application/json' -d '{"type":"square","payload":{"x":7}}'`,
      `  curl -s ${edgeUrl}/v1/tasks/<id> -H 'authorization: Bearer ${apiToken}'`,
      '  npm run forklift -- enqueue square \'{"x":3}\' --priority high',
      '  npm run forklift -- stats',
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );

  return new Promise<number>((done) => {
    let stopping = false;
    const stop = async () => {
      if (stopping) {
        await host.close({ force: true });
        return;
      }
      stopping = true;
      edge?.kill('SIGTERM');
      await host.close();
      await gateway.close();
      redisChild?.kill('SIGTERM');
      done(0);
    };
    process.on('SIGINT', () => void stop());
    process.on('SIGTERM', () => void stop());
    edge?.once('exit', (code) => {
      if (!stopping) {
        log.error({ code }, 'wrangler dev exited; stopping the stack');
        void stop();
      }
    });
  });
}
