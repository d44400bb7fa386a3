/**
 * The gateway's HTTP surface: the Upstash REST protocol (upstash-rest-protocol.md) as a Hono app.
 *
 * | route | what |
 * |---|---|
 * | `POST /` | one command, JSON array body → `{"result"}` 200 or `{"error"}` 400 |
 * | `POST /pipeline` | array of commands → 200 array of `{"result"}` / `{"error"}` items |
 * | `POST /multi-exec` | same, atomically; a discarded transaction → 400 `{"error"}` |
 * | `POST\|GET /subscribe/<channel>`, `/psubscribe/<pattern>` | SSE stream (sse.ts) |
 * | `GET\|HEAD\|POST\|PUT /<cmd>/<arg>/…` | path-style command (request.ts) |
 *
 * Every request needs a token (401). Every response carries `upstash-sync-token` (a process-wide
 * counter: with one Redis behind us, reads always see earlier writes, so the token only has to
 * change). Every non-2xx body is JSON `{"error"}`: 400 bad request or Redis error, 401, 405 other
 * methods, 413 body over the limit, 503 Redis unreachable, 500 gateway bug.
 */
import { type Context, Hono } from 'hono';
import type { Logger } from 'pino';
import { createAuthenticator, presentedToken } from './auth.js';
import { BodyTooLargeError, readBody } from './body.js';
import { type CommandArg, CommandPolicy, commandName } from './commands.js';
import type { GatewayConfig } from './config.js';
import { errorBody, type ItemOutcome, itemsBody, resultBody } from './encoding.js';
import {
  type GatewayEnv,
  HttpError,
  header,
  json,
  nextSyncToken,
  queryToken,
  rawTarget,
  wantsBase64,
} from './exchange.js';
import { RedisUnavailableError } from './redis-pool.js';
import {
  BadRequestError,
  type Command,
  parseBatch,
  parseSingle,
  pathCommand,
  pathSegments,
} from './request.js';
import { controlFor, createRunner, type GatewayPool } from './runner.js';
import { ScriptWatchdog } from './script-watchdog.js';
import { openSubscription, type SubscribeKind, Subscriptions } from './sse.js';

/** What the app needs; the pool and logger are owned by the caller. */
export interface GatewayAppOptions {
  config: GatewayConfig;
  /** Connections to one Redis (RedisPool) or to a Redis Cluster (ClusterPool). */
  pool: GatewayPool;
  logger: Logger;
  /** Open SSE streams; pass one to end them at shutdown. @default a new registry */
  subscriptions?: Subscriptions;
}

type Env = GatewayEnv;

const PATH_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT']);
const BODY_METHODS = new Set(['POST', 'PUT']);

function summarize(commands: readonly (readonly CommandArg[])[]): string {
  const first = commands[0] ? commandName(commands[0]).name.toLowerCase() : '';
  return commands.length === 1 ? first : `${first}…(${commands.length})`;
}

/**
 * Builds the Hono app. Usable with `app.request()` in tests, or served by server.ts.
 * @example
 * const app = createGatewayApp({ config, pool, logger });
 * const res = await app.request('/', { method: 'POST', body: '["PING"]', headers });
 */
export function createGatewayApp(options: GatewayAppOptions): Hono<Env> {
  const { config, pool, logger } = options;
  const subscriptions =
    options.subscriptions ??
    new Subscriptions({ maxBufferedBytes: config.maxSubscriberBufferBytes });
  const authenticate = createAuthenticator(config.tokens, config.readonlyTokens);
  const policy = new CommandPolicy(config.allow);
  const watchdog = new ScriptWatchdog({
    timeoutMs: config.scriptTimeoutMs,
    control: (conn) => controlFor(pool, conn),
    logger,
  });
  const runner = createRunner(pool, watchdog);
  const app = new Hono<Env>();

  app.use(async (c, next) => {
    const started = performance.now();
    const sync = nextSyncToken();
    c.set('sync', sync);
    c.header('upstash-sync-token', sync);
    await next();
    const status = c.get('status') ?? c.res.status;
    if (status < 500 && !logger.isLevelEnabled('debug')) return;
    const line = {
      method: c.req.method,
      route: rawTarget(c).path.split('/')[1] || '/',
      cmd: c.get('summary'),
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (status >= 500) logger.warn(line, 'request failed');
    else logger.debug(line, 'request');
  });

  app.onError((error, c) => {
    if (error instanceof HttpError) {
      const extra: Record<string, string> = error.allow ? { allow: error.allow } : {};
      return json(c, error.status, errorBody(error.message), extra);
    }
    if (error instanceof BadRequestError) return json(c, 400, errorBody(error.message));
    if (error instanceof BodyTooLargeError) return json(c, 413, errorBody(error.message));
    if (error instanceof RedisUnavailableError) return json(c, 503, errorBody(error.message));
    if (error.name === 'ReplyError') return json(c, 400, errorBody(error.message));
    logger.error({ err: error }, 'unexpected gateway error');
    return json(c, 500, errorBody('ERR internal gateway error'));
  });

  app.use(async (c, next) => {
    if (!PATH_METHODS.has(c.req.method)) {
      throw new HttpError(405, `ERR method ${c.req.method} is not allowed`, 'GET, HEAD, POST, PUT');
    }
    const token = presentedToken(header(c, 'authorization'), queryToken(c));
    const access = authenticate(token);
    if (access === null) throw new HttpError(401, 'Unauthorized');
    c.set('access', access);
    await next();
  });

  const body = async (c: Context<Env>) =>
    BODY_METHODS.has(c.req.method) ? readBody(c.req.raw, config.maxBodyBytes) : null;

  async function single(c: Context<Env>, command: Command): Promise<Response> {
    c.set('summary', summarize([command]));
    const denied = policy.check(command, c.get('access'));
    if (denied !== null) return json(c, 400, errorBody(denied));
    const outcome = await runner.single(command);
    return outcome.ok
      ? json(c, 200, resultBody(outcome.reply, wantsBase64(c)))
      : json(c, 400, errorBody(outcome.error));
  }

  function requirePost(c: Context<Env>): void {
    if (!BODY_METHODS.has(c.req.method)) {
      throw new HttpError(405, `ERR ${c.req.path} accepts POST only`, 'POST, PUT');
    }
  }

  app.all('/pipeline', async (c) => {
    requirePost(c);
    const commands = parseBatch((await body(c)) ?? Buffer.alloc(0));
    c.set('summary', summarize(commands));
    const denials = commands.map((command) => policy.check(command, c.get('access')));
    const allowed = commands.filter((_, i) => denials[i] === null);
    const ran = allowed.length > 0 ? await runner.pipeline(allowed) : [];
    let next = 0;
    const items = denials.map(
      (denied): ItemOutcome =>
        denied === null ? (ran[next++] as ItemOutcome) : { ok: false, error: denied },
    );
    return json(c, 200, itemsBody(items, wantsBase64(c)));
  });

  app.all('/multi-exec', async (c) => {
    requirePost(c);
    const commands = parseBatch((await body(c)) ?? Buffer.alloc(0));
    c.set('summary', summarize(commands));
    for (const command of commands) {
      const denied = policy.check(command, c.get('access'));
      if (denied !== null) {
        return json(c, 400, errorBody(`EXECABORT Transaction discarded because of: ${denied}`));
      }
    }
    if (commands.length === 0) return json(c, 200, '[]');
    const outcome = await runner.transaction(commands);
    return outcome.committed
      ? json(c, 200, itemsBody(outcome.items, wantsBase64(c)))
      : json(c, 400, errorBody(outcome.error));
  });

  const subscribe = (kind: SubscribeKind) => async (c: Context<Env>) => {
    c.set('summary', kind);
    const segments = pathSegments(rawTarget(c).path).slice(1);
    if (segments.length === 0) throw new BadRequestError(`ERR ${kind} needs a channel in the path`);
    const denied = policy.permission({ name: kind.toUpperCase(), sub: undefined }, c.get('access'));
    if (denied !== null) return json(c, 400, errorBody(denied));
    if (subscriptions.size >= config.maxSubscribers) {
      throw new HttpError(503, `ERR too many open subscriptions (limit ${config.maxSubscribers})`);
    }
    const stream = await openSubscription({
      kind,
      target: segments.join('/'),
      pool,
      registry: subscriptions,
      signal: c.req.raw.signal,
      logger,
    });
    return new Response(stream, {
      status: 200,
      headers: {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
        'upstash-sync-token': c.get('sync'),
      },
    });
  };
  app.all('/subscribe/*', subscribe('subscribe'));
  app.all('/psubscribe/*', subscribe('psubscribe'));

  app.all('*', async (c) => {
    const { path, query } = rawTarget(c);
    const segments = pathSegments(path);
    const raw = await body(c);
    if (segments.length === 0) {
      if (raw === null) throw new BadRequestError('ERR empty command');
      return single(c, parseSingle(raw));
    }
    return single(c, pathCommand(segments, raw, new URLSearchParams(query)));
  });

  return app;
}
