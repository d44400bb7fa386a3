/**
 * `forklift dev`: the whole local stack in one command (what `npm start` runs).
 *
 *   Redis ◄── gateway (Upstash REST, :8079) ◄── edge Worker (wrangler dev / workerd, :8787)
 *     ▲  ▲
 *     │  └─── dashboard (Node, http://localhost:8788/ui; the edge serves it at /ui too)
 *     └────── worker host (BLPOP + forked pool)
 *
 * Uses the Redis at REDIS_URL; when nothing answers at the local default and `redis-server` is
 * on the PATH, starts one without persistence for the session. Tokens come from
 * FORKLIFT_GATEWAY_TOKENS / FORKLIFT_API_TOKENS, or are made up for the session and printed
 * (tokens from the environment are not printed, nor is the Redis password). Ctrl-C stops
 * everything gracefully.
 *
 * Secrets never go on a command line, where `ps` shows them to every user of the machine:
 * wrangler gets the edge's tokens in a vars file (`--env-file`) in a private temporary
 * directory (0700, the file 0600), deleted when the stack stops; only the queue and the
 * namespace are passed as `--var`. wrangler's environment leaves out REDIS_URL and the token
 * variables (it needs none of them). See `prepareWrangler`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadGatewayConfig } from '../gateway/config.js';
import { startGateway } from '../gateway/server.js';
import { startWorkerHost } from '../host.js';
import { createLogger } from '../logger.js';
import { redisAnswers } from '../redis/probe.js';
import { redactRedisUrl } from '../redis/redact.js';
import { intFlag, parseCommand } from './args.js';
import { CliError } from './cli-error.js';
import { startDashboard, tokenList } from './dashboard-command.js';
import { readCliEnv } from './env.js';
import { cliSecrets, TOKEN_VARIABLES } from './secrets.js';

const HELP = `usage: forklift dev [--concurrency N] [--gateway-port 8079] [--edge-port 8787]
                    [--dashboard-port 8788] [--no-edge]

Runs Redis (if none answers at the local default), the REST gateway, a worker host, the edge
Worker under wrangler dev and the dashboard, and prints how to call them. Ctrl-C stops everything.`;

const WRANGLER_OFFLINE = {
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
};

/**
 * How wrangler must read the vars file: load it even if the user turned off `.env` loading
 * (`--env-file` falls under that switch), and do not add wrangler's whole environment to the
 * Worker's bindings.
 */
const WRANGLER_VARS = {
  CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: 'true',
  CLOUDFLARE_INCLUDE_PROCESS_ENV: 'false',
};

/** Variables wrangler is not given: it needs none, and each holds a secret. */
const WITHHELD = ['REDIS_URL', ...TOKEN_VARIABLES];

/**
 * One `KEY='value'` line of a dotenv file as wrangler 4 reads it (dotenv, then dotenv-expand):
 * `$` is escaped so that nothing is expanded, and the value is quoted with a quote character it
 * does not contain (single quotes and backticks keep everything else literal).
 * @throws CliError for a value no dotenv line can carry (a line break, or every quote).
 */
export function dotenvLine(key: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new CliError(`dev: bad variable name ${key}`, 1);
  const escaped = value.replaceAll('$', '\\$');
  const quote = ["'", '`'].find((q) => !escaped.includes(q));
  if (/[\r\n\0]/.test(value) || escaped.endsWith('\\') || quote === undefined) {
    throw new CliError(
      `dev: ${key} cannot be passed to wrangler (no line breaks, no trailing backslash, and not both ' and \`)`,
      1,
    );
  }
  return `${key}=${quote}${escaped}${quote}`;
}

/** What `forklift dev` runs for the edge Worker. */
export interface WranglerLaunch {
  /** The program: `node_modules/.bin/wrangler`. */
  command: string;
  /** Its arguments: `dev`, address, port, `--env-file` files and `--var`s; no secret. */
  args: string[];
  /** Its environment: the caller's without REDIS_URL and the token variables. */
  env: NodeJS.ProcessEnv;
  /** The vars file holding the secrets (mode 0600, in a private 0700 directory). */
  varsFile: string;
  /** Deletes the vars file and its directory; idempotent, synchronous (safe at exit). */
  dispose(): void;
}

/** Options of `prepareWrangler`. */
export interface WranglerLaunchOptions {
  /** Path of the wrangler binary. */
  wrangler: string;
  /** Address and port wrangler dev serves on. */
  ip: string;
  port: number;
  /** Bindings that are secret: written to the vars file only. */
  secrets: Record<string, string>;
  /** Bindings that are not: passed as `--var NAME:value`. */
  vars: Record<string, string>;
  /** The environment to start from (the CLI's). */
  env: NodeJS.ProcessEnv;
  /**
   * The project directory (wrangler.toml's). Its `.dev.vars` (or else `.env` and `.env.local`),
   * which wrangler would read by itself without `--env-file`, is passed first so that its
   * values still apply; ours come last and win.
   */
  projectDir: string;
  /** Where the private directory is made. @default os.tmpdir() */
  tmpDir?: string;
}

/**
 * Writes the secrets to a private vars file and returns the wrangler invocation that reads it
 * (`--env-file`), with nothing secret in its arguments or environment. Call `dispose` when
 * wrangler has exited.
 */
export function prepareWrangler(options: WranglerLaunchOptions): WranglerLaunch {
  const lines = Object.entries(options.secrets).map(([k, v]) => dotenvLine(k, v));
  const dir = mkdtempSync(join(options.tmpDir ?? tmpdir(), 'forklift-dev-'));
  const varsFile = join(dir, 'edge.dev.vars');
  try {
    writeFileSync(
      varsFile,
      `# forklift dev: the edge Worker's secrets for this session (deleted when it stops)\n${lines.join('\n')}\n`,
      { mode: 0o600, flag: 'wx' },
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const env: NodeJS.ProcessEnv = { ...options.env, ...WRANGLER_OFFLINE, ...WRANGLER_VARS };
  for (const name of WITHHELD) delete env[name];
  const userFiles = existsSync(join(options.projectDir, '.dev.vars'))
    ? ['.dev.vars']
    : options.env.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV === 'false'
      ? []
      : ['.env', '.env.local'].filter((f) => existsSync(join(options.projectDir, f)));
  const envFiles = [...userFiles.map((f) => join(options.projectDir, f)), varsFile];
  return {
    command: options.wrangler,
    args: [
      'dev',
      '--ip',
      options.ip,
      '--port',
      String(options.port),
      ...envFiles.flatMap((f) => ['--env-file', f]),
      ...Object.entries(options.vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
    ],
    env,
    varsFile,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function ensureRedis(url: string): Promise<ChildProcess | undefined> {
  if (await redisAnswers(url)) return undefined;
  const local = /^redis:\/\/(127\.0\.0\.1|localhost)(:6379)?\/?$/.test(url);
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], {
    encoding: 'utf8',
  }).stdout.trim();
  if (!local || !found) {
    throw new CliError(
      `nothing answers at REDIS_URL=${redactRedisUrl(url)}; start Redis or point REDIS_URL at one`,
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
      'dashboard-port': { type: 'string' },
      'no-edge': { type: 'boolean' },
    },
    false,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  const cli = readCliEnv(env);
  const log = createLogger(cli.logLevel, { secrets: cliSecrets(env) });
  const gatewayPort = intFlag('--gateway-port', values['gateway-port'], 1, 65_535) ?? 8079;
  const edgePort = intFlag('--edge-port', values['edge-port'], 1, 65_535) ?? 8787;
  const dashboardPort = intFlag('--dashboard-port', values['dashboard-port'], 1, 65_535) ?? 8788;
  const concurrency = intFlag('--concurrency', values.concurrency, 1, 1024);
  const gatewayToken =
    env.FORKLIFT_GATEWAY_TOKENS?.split(',')[0]?.trim() || `gw-${randomBytes(12).toString('hex')}`;
  const apiToken =
    env.FORKLIFT_API_TOKENS?.split(',')[0]?.trim() || `api-${randomBytes(12).toString('hex')}`;

  // What has started so far, undone in reverse order if a later part fails to start, so a
  // failed start leaves no redis-server running and no worker host registered in Redis.
  const undo: (() => Promise<unknown> | undefined)[] = [];
  const undoStarted = async () => {
    for (const step of undo.reverse()) await step()?.catch(() => {});
  };
  const startParts = async () => {
    const redisChild = await ensureRedis(cli.redisUrl);
    if (redisChild) {
      undo.push(() => {
        redisChild.kill('SIGTERM');
        return undefined;
      });
      log.info('started redis-server on 127.0.0.1:6379 (no persistence) for this session');
    }

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
    undo.push(() => gateway.close());
    const host = await startWorkerHost({
      redisUrl: cli.redisUrl,
      queue: cli.queue,
      namespace: cli.namespace,
      shards: cli.shards,
      ...(concurrency === undefined ? {} : { concurrency }),
      logger: log.child({ component: 'worker' }),
    });
    undo.push(() => host.close({ force: true, graceMs: 0 }));

    const dashboard = await startDashboard({
      redisUrl: cli.redisUrl,
      queue: cli.queue,
      namespace: cli.namespace,
      shards: cli.shards,
      tokens: {
        full: env.FORKLIFT_API_TOKENS?.trim() ? tokenList(env.FORKLIFT_API_TOKENS) : [apiToken],
        read: tokenList(env.FORKLIFT_API_READONLY_TOKENS),
      },
      port: dashboardPort,
      host: '127.0.0.1',
      logger: log.child({ component: 'dashboard' }),
    });
    undo.push(() => dashboard.close());

    let edge: ChildProcess | undefined;
    let launch: WranglerLaunch | undefined;
    if (!values['no-edge']) {
      const wrangler = resolve('node_modules/.bin/wrangler');
      if (!existsSync(wrangler))
        throw new CliError('node_modules/.bin/wrangler is missing: run npm ci', 1);
      launch = prepareWrangler({
        wrangler,
        ip: '127.0.0.1',
        port: edgePort,
        secrets: {
          UPSTASH_REDIS_REST_URL: gateway.url,
          UPSTASH_REDIS_REST_TOKEN: gatewayToken,
          FORKLIFT_API_TOKENS: apiToken,
          ...(env.FORKLIFT_API_READONLY_TOKENS?.trim()
            ? { FORKLIFT_API_READONLY_TOKENS: env.FORKLIFT_API_READONLY_TOKENS.trim() }
            : {}),
        },
        vars: {
          FORKLIFT_QUEUE: cli.queue,
          FORKLIFT_NAMESPACE: cli.namespace,
          FORKLIFT_SHARDS: String(cli.shards),
        },
        env,
        projectDir: resolve('.'),
      });
      // Whatever way this process ends, the vars file goes with it.
      process.once('exit', launch.dispose);
      edge = spawn(launch.command, launch.args, {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: launch.env,
      });
    }

    return { redisChild, gateway, host, dashboard, edge, launch };
  };
  let parts: Awaited<ReturnType<typeof startParts>>;
  try {
    parts = await startParts();
  } catch (error) {
    await undoStarted();
    throw error;
  }
  const { redisChild, gateway, host, dashboard, edge, launch } = parts;

  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  // Tokens made up for this session are printed (they are the only way to call the stack);
  // tokens from the environment are the user's own secrets and are only named.
  const gatewayTokenShown = env.FORKLIFT_GATEWAY_TOKENS?.trim()
    ? 'from FORKLIFT_GATEWAY_TOKENS'
    : gatewayToken;
  const apiTokenShown = env.FORKLIFT_API_TOKENS?.trim() ? 'from FORKLIFT_API_TOKENS' : apiToken;
  const apiTokenInCurl = env.FORKLIFT_API_TOKENS?.trim() ? '<API token>' : apiToken;
  process.stdout.write(
    [
      '',
      'Forklift dev stack is up:',
      `  gateway   ${gateway.url}   (token ${gatewayTokenShown})`,
      edge
        ? `  edge      ${edgeUrl}   (API token ${apiTokenShown})`
        : '  edge      not started (--no-edge)',
      `  worker    ${host.hostId}   queue '${cli.queue}' on ${redactRedisUrl(cli.redisUrl)}`,
      `  dashboard ${dashboard.url}   (log in with API token ${apiTokenShown}${edge ? `; also at ${edgeUrl.replace('127.0.0.1', 'localhost')}/ui` : ''})`,
      '',
      'Try:',
      `  curl -s -X POST ${edgeUrl}/v1/tasks -H 'authorization: Bearer ${apiTokenInCurl}' -H 'content-type: application/json' -d '{"type":"square","payload":{"x":7}}'`,
      `  curl -s ${edgeUrl}/v1/tasks/<id> -H 'authorization: Bearer ${apiTokenInCurl}'`,
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
      const edgeExited =
        edge && edge.exitCode === null && edge.signalCode === null
          ? new Promise((r) => edge?.once('exit', r))
          : undefined;
      await host.close();
      await dashboard.close();
      await gateway.close();
      redisChild?.kill('SIGTERM');
      // wrangler reads the vars file again when it reloads: delete it once wrangler is gone.
      if (edgeExited) await Promise.race([edgeExited, new Promise((r) => setTimeout(r, 2_000))]);
      launch?.dispose();
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
