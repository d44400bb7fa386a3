/**
 * Gateway configuration: read once from the environment and the command-line flags, validated,
 * and passed down explicitly. Nothing else in the gateway reads `process.env`.
 *
 * A bad value fails at start-up with a message naming the setting (and the value, except for
 * tokens, which are never echoed).
 */
import { z } from 'zod';
import { isClusterUrl, parseClusterUrl } from '../redis/cluster-url.js';
import { redactRedisUrl } from '../redis/redact.js';
import { CONTAINER_COMMANDS, classify } from './command-table.js';

/**
 * The commands Forklift's REST clients send, selected by `FORKLIFT_GATEWAY_ALLOW=forklift`:
 * the edge runs its scripts with EVALSHA and falls back to EVAL on NOSCRIPT (shared/script-runner.ts);
 * read-only clients use the `_RO` forms, `createScript`-style clients SCRIPT LOAD / SCRIPT EXISTS,
 * probes PING. Under the preset every Lua command is limited to Forklift's own scripts
 * (forklift-scripts.ts). Entries are a command name, or `NAME|SUBCOMMAND` to allow one
 * subcommand only. Edit here when the edge starts using another command.
 */
export const FORKLIFT_EDGE_COMMANDS: readonly string[] = Object.freeze([
  'EVALSHA',
  'EVAL',
  'EVALSHA_RO',
  'EVAL_RO',
  'SCRIPT|LOAD',
  'SCRIPT|EXISTS',
  'PING',
]);

/** A parsed `FORKLIFT_GATEWAY_ALLOW`. */
export interface AllowList {
  /** Upper-cased `NAME` or `NAME|SUB` entries. */
  readonly commands: ReadonlySet<string>;
  /**
   * True when the list holds the `forklift` preset: EVAL, EVALSHA, their `_RO` forms and
   * SCRIPT LOAD then accept only Forklift's own scripts, even if listed again explicitly.
   */
  readonly forkliftScriptsOnly: boolean;
}

/** Everything the gateway needs to run. Build it with {@link loadGatewayConfig} or by hand in tests. */
export interface GatewayConfig {
  /**
   * Redis to front: one Redis (`redis://`, `rediss://`) or a Redis Cluster (`redis+cluster://`,
   * `rediss+cluster://`, see cluster-url.ts). @default 'redis://127.0.0.1:6379' (`REDIS_URL`)
   */
  redisUrl: string;
  /** Bearer tokens with full access (`FORKLIFT_GATEWAY_TOKENS`, required, at least one). */
  tokens: readonly string[];
  /** Bearer tokens limited to read commands (`FORKLIFT_GATEWAY_READONLY_TOKENS`). @default [] */
  readonlyTokens: readonly string[];
  /**
   * The command allowlist; `null` allows every command the gateway supports
   * (`FORKLIFT_GATEWAY_ALLOW`). @default null
   */
  allow: AllowList | null;
  /**
   * How long a Lua script (EVAL*, FCALL*) sent by the gateway may run before the gateway kills
   * it with SCRIPT KILL / FUNCTION KILL (`FORKLIFT_GATEWAY_SCRIPT_TIMEOUT_MS`). @default 5000
   */
  scriptTimeoutMs: number;
  /** Largest accepted request body in bytes; above it the answer is 413. @default 1048576 */
  maxBodyBytes: number;
  /** TCP port to listen on; 0 picks a free one (`--port`). @default 8079 */
  port: number;
  /** Interface to bind (`--host`). @default '127.0.0.1' */
  host: string;
  /** Shared Redis connections for `/` and `/pipeline`. @default 4 */
  poolSize: number;
  /** Most Redis connections lent out at once to `/multi-exec`. @default 8 */
  maxTransactionConnections: number;
  /** Most concurrent `/subscribe` and `/psubscribe` streams (one Redis connection each). @default 256 */
  maxSubscribers: number;
  /**
   * Most bytes that may wait in the gateway for one SSE subscriber that reads slower than its
   * messages arrive; past it the subscriber is dropped (`FORKLIFT_GATEWAY_MAX_SUBSCRIBER_BUFFER_BYTES`).
   * @default 1048576
   */
  maxSubscriberBufferBytes: number;
  /** How long shutdown waits for in-flight requests before cutting them. @default 10000 */
  shutdownTimeoutMs: number;
  /** pino level of the gateway's logs (`FORKLIFT_LOG_LEVEL`). @default 'info' */
  logLevel: LogLevel;
}

/** The pino levels the gateway accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A setting is missing or invalid; the message names it. */
export class GatewayConfigError extends Error {
  override name = 'GatewayConfigError';
}

/** Defaults for the settings that have one. */
const GATEWAY_DEFAULTS = Object.freeze({
  redisUrl: 'redis://127.0.0.1:6379',
  maxBodyBytes: 1_048_576,
  scriptTimeoutMs: 5_000,
  port: 8079,
  host: '127.0.0.1',
  poolSize: 4,
  maxTransactionConnections: 8,
  maxSubscribers: 256,
  maxSubscriberBufferBytes: 1_048_576,
  shutdownTimeoutMs: 10_000,
  logLevel: 'info' as LogLevel,
});

const COMMAND_ENTRY = /^[A-Z][A-Z0-9_.-]*(\|[A-Z0-9_.-]+)?$/;

function tokenList(name: string, raw: string | undefined): string[] {
  const tokens = (raw ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  for (const t of tokens) {
    if (/\s/.test(t)) throw new GatewayConfigError(`${name}: a token contains whitespace`);
  }
  return tokens;
}

/**
 * Parses an allowlist: comma-separated `NAME` or `NAME|SUB` (a space also separates the
 * subcommand), case-insensitive; the entry `forklift` expands to {@link FORKLIFT_EDGE_COMMANDS}
 * and limits Lua to Forklift's own scripts.
 * @throws {GatewayConfigError} on a malformed entry or a command the gateway does not know.
 * @example parseAllowList('forklift, publish').commands.has('PUBLISH') // true
 */
export function parseAllowList(raw: string): AllowList {
  const commands = new Set<string>();
  let forkliftScriptsOnly = false;
  for (const part of raw.split(',')) {
    const entry = part.trim().toUpperCase().replace(/\s+/g, '|');
    if (entry === '') continue;
    if (entry === 'FORKLIFT') {
      for (const c of FORKLIFT_EDGE_COMMANDS) commands.add(c);
      forkliftScriptsOnly = true;
      continue;
    }
    if (!COMMAND_ENTRY.test(entry)) {
      throw new GatewayConfigError(
        `FORKLIFT_GATEWAY_ALLOW: '${part.trim()}' is not a command name (use NAME or NAME|SUBCOMMAND)`,
      );
    }
    const [name = '', sub] = entry.split('|');
    if (classify(name, sub) === null || (sub !== undefined && !CONTAINER_COMMANDS.has(name))) {
      throw new GatewayConfigError(
        `FORKLIFT_GATEWAY_ALLOW: '${part.trim()}' is not a command the gateway knows`,
      );
    }
    commands.add(entry);
  }
  if (commands.size === 0) {
    throw new GatewayConfigError('FORKLIFT_GATEWAY_ALLOW is set but lists no command');
  }
  return { commands, forkliftScriptsOnly };
}

function describe(issue: z.core.$ZodIssue | undefined): string {
  return issue?.message ?? 'invalid value';
}

/** Parses one setting; the error quotes the value, masked by `shown` when it may hold a secret. */
function parseWith<T>(
  schema: z.ZodType<T>,
  name: string,
  raw: string,
  shown: (raw: string) => string = (value) => value,
): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new GatewayConfigError(
      `${name}: ${describe(parsed.error.issues[0])}, got '${shown(raw)}'`,
    );
  }
  return parsed.data;
}

/** Why a cluster URL does not parse (cluster-url.ts), or `null`; never quotes the URL. */
function clusterUrlProblem(url: string): string | null {
  try {
    parseClusterUrl(url);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : 'is not a valid cluster URL';
  }
}

const redisUrlSchema = z
  .string()
  .regex(
    /^rediss?(\+cluster)?:\/\/\S+$/i,
    'must be a redis:// or rediss:// URL, or redis+cluster:// or rediss+cluster:// for a Redis Cluster',
  )
  .superRefine((s, ctx) => {
    const problem = isClusterUrl(s)
      ? clusterUrlProblem(s)
      : URL.canParse(s)
        ? null
        : 'is not a valid URL';
    if (problem !== null)
      ctx.addIssue({ code: 'custom', message: `must be a valid URL: it ${problem}` });
  });
const intString = (min: number, max: number, what: string) =>
  z
    .string()
    .regex(/^\d+$/, `must be ${what}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be ${what}`).max(max, `must be ${what}`));
const portSchema = intString(0, 65_535, 'an integer from 0 to 65535');
const bodySchema = intString(
  1,
  1024 * 1024 * 1024,
  'a positive integer number of bytes (at most 1 GiB)',
);
const scriptTimeoutSchema = intString(
  1,
  3_600_000,
  'a positive integer number of milliseconds (at most 3600000)',
);
const logLevelSchema = z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` });
const hostSchema = z
  .string()
  .min(1, 'must not be empty')
  .regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be a host name or IP address');

/** The command-line flags the config depends on, as parsed strings. */
export interface GatewayFlags {
  port?: string | undefined;
  host?: string | undefined;
}

/**
 * Builds the configuration from environment variables and flags.
 *
 * @throws {GatewayConfigError} naming the variable or flag that is missing or invalid.
 * @example
 * const config = loadGatewayConfig(process.env, { port: '8079' });
 */
export function loadGatewayConfig(
  env: Readonly<Record<string, string | undefined>>,
  flags: GatewayFlags = {},
): GatewayConfig {
  const tokens = tokenList('FORKLIFT_GATEWAY_TOKENS', env.FORKLIFT_GATEWAY_TOKENS);
  if (tokens.length === 0) {
    throw new GatewayConfigError(
      'FORKLIFT_GATEWAY_TOKENS is empty: set it to one or more comma-separated bearer tokens',
    );
  }
  const readonlyTokens = tokenList(
    'FORKLIFT_GATEWAY_READONLY_TOKENS',
    env.FORKLIFT_GATEWAY_READONLY_TOKENS,
  );
  if (readonlyTokens.some((t) => tokens.includes(t))) {
    throw new GatewayConfigError(
      'FORKLIFT_GATEWAY_READONLY_TOKENS: a token also appears in FORKLIFT_GATEWAY_TOKENS',
    );
  }
  const rawAllow = env.FORKLIFT_GATEWAY_ALLOW?.trim();
  const rawBody = env.FORKLIFT_GATEWAY_MAX_BODY_BYTES?.trim();
  const rawBuffer = env.FORKLIFT_GATEWAY_MAX_SUBSCRIBER_BUFFER_BYTES?.trim();
  const rawUrl = env.REDIS_URL?.trim();
  const rawScriptTimeout = env.FORKLIFT_GATEWAY_SCRIPT_TIMEOUT_MS?.trim();
  const rawLevel = env.FORKLIFT_LOG_LEVEL?.trim().toLowerCase();
  return {
    ...GATEWAY_DEFAULTS,
    redisUrl: rawUrl
      ? parseWith(redisUrlSchema, 'REDIS_URL', rawUrl, redactRedisUrl)
      : GATEWAY_DEFAULTS.redisUrl,
    tokens,
    readonlyTokens,
    allow: rawAllow ? parseAllowList(rawAllow) : null,
    maxBodyBytes: rawBody
      ? parseWith(bodySchema, 'FORKLIFT_GATEWAY_MAX_BODY_BYTES', rawBody)
      : GATEWAY_DEFAULTS.maxBodyBytes,
    maxSubscriberBufferBytes: rawBuffer
      ? parseWith(bodySchema, 'FORKLIFT_GATEWAY_MAX_SUBSCRIBER_BUFFER_BYTES', rawBuffer)
      : GATEWAY_DEFAULTS.maxSubscriberBufferBytes,
    scriptTimeoutMs: rawScriptTimeout
      ? parseWith(scriptTimeoutSchema, 'FORKLIFT_GATEWAY_SCRIPT_TIMEOUT_MS', rawScriptTimeout)
      : GATEWAY_DEFAULTS.scriptTimeoutMs,
    port:
      flags.port !== undefined
        ? parseWith(portSchema, '--port', flags.port)
        : GATEWAY_DEFAULTS.port,
    host:
      flags.host !== undefined
        ? parseWith(hostSchema, '--host', flags.host)
        : GATEWAY_DEFAULTS.host,
    logLevel: rawLevel
      ? parseWith(logLevelSchema, 'FORKLIFT_LOG_LEVEL', rawLevel)
      : GATEWAY_DEFAULTS.logLevel,
  };
}

/** A complete config for tests and embedding: defaults plus the given fields. */
export function gatewayConfig(
  fields: Partial<GatewayConfig> & Pick<GatewayConfig, 'tokens'>,
): GatewayConfig {
  return { ...GATEWAY_DEFAULTS, readonlyTokens: [], allow: null, ...fields };
}
