/**
 * The engine's `ScriptTransport` over `@upstash/redis` (its Workers build): EVALSHA and EVAL go
 * to the REST endpoint as single commands (`POST /`, auto-pipelining off), one HTTP request each.
 *
 * Errors are sorted here, once, so routes never look at client error texts:
 * - `NOSCRIPT` passes through untouched: `runScript` answers it with EVAL.
 * - Errors raised by an engine script (`ERR forklift: …`, a Lua runtime error, `WRONGTYPE`)
 *   pass through: they are bugs or corrupt data, answered 500 and logged.
 * - Anything else — the endpoint cannot be reached, times out, answers 5xx, 401 or something that
 *   is not JSON, or Redis is loading, busy, out of memory — becomes `StoreUnavailableError` (503).
 */
import { Redis } from '@upstash/redis/cloudflare';
import { type ScriptTransport, StoreUnavailableError } from '../shared/index.js';

/** Options of `createRedis`. */
export interface RedisOptions {
  /** The REST endpoint, e.g. `https://eu1-xxx.upstash.io` or `http://127.0.0.1:8079`. */
  url: string;
  token: string;
  /** Time limit of one call (all attempts together), in ms. */
  timeoutMs: number;
}

/**
 * A client for the edge: replies are not JSON-parsed (the shared codec reads raw strings), each
 * command is its own request, a refused connection is retried once after 50 ms and then fails.
 *
 * @example
 * const redis = createRedis({ url: env.UPSTASH_REDIS_REST_URL, token, timeoutMs: 5000 });
 */
export function createRedis(options: RedisOptions): Redis {
  return new Redis({
    url: options.url,
    token: options.token,
    automaticDeserialization: false,
    enableAutoPipelining: false,
    enableTelemetry: false,
    retry: { retries: 1, backoff: () => 50 },
    signal: () => AbortSignal.timeout(options.timeoutMs),
  });
}

/** Engine-script errors (see the header): passed through rather than reported as an outage. */
const SCRIPT_ERROR = /^(NOSCRIPT|WRONGTYPE|ERR forklift:|ERR user_script|ERR Error running script)/;

/**
 * An error message of @upstash/redis without the ", command was: <the whole request body>" it
 * appends (the body holds payloads, which are never logged).
 */
export function withoutCommand(message: string): string {
  return message.split(', command was:')[0] ?? message;
}

/** Sorts an error from the client into pass-through or `StoreUnavailableError`. */
export function classifyStoreError(error: unknown): unknown {
  if (error instanceof Error && SCRIPT_ERROR.test(error.message)) return error;
  const detail = error instanceof Error ? withoutCommand(error.message) : String(error);
  return new StoreUnavailableError(`the task store failed: ${detail}`, { cause: error });
}

async function guarded(call: () => Promise<unknown>): Promise<unknown> {
  try {
    return await call();
  } catch (error) {
    throw classifyStoreError(error);
  }
}

/** Wraps an @upstash/redis client as a script transport. */
export function upstashTransport(redis: Redis): ScriptTransport {
  return {
    evalsha: (sha, keys, args) => guarded(() => redis.evalsha(sha, [...keys], [...args])),
    eval: (source, keys, args) => guarded(() => redis.eval(source, [...keys], [...args])),
  };
}
