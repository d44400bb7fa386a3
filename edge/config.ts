/**
 * The edge's configuration: read from the Worker's bindings once per isolate, validated with
 * zod, and passed down explicitly (nothing else reads `env`).
 *
 * A bad or missing value never makes the Worker throw at start-up or answer 500: the API answers
 * 503 `not_configured` with a message naming the variable (after authentication, except for
 * `FORKLIFT_API_TOKENS` itself, whose absence means the API refuses to serve anyone).
 */
import * as z from 'zod';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  NAMESPACE_PATTERN,
  QUEUE_NAME_PATTERN,
} from '../shared/index.js';
import { memoizeByObject } from '../shared/memo.js';
import { MAX_SHARDS } from '../shared/shards.js';

/** Everything the API needs, validated. */
export interface EdgeConfig {
  /** Bearer tokens allowed to call `/v1/*` (`FORKLIFT_API_TOKENS`, comma-separated). */
  apiTokens: readonly string[];
  /**
   * Bearer tokens allowed to call the GET routes of `/v1/*` only (`FORKLIFT_API_READONLY_TOKENS`,
   * comma-separated, optional): any other method answers 403 `forbidden`. @default []
   */
  readOnlyApiTokens: readonly string[];
  /** The REST endpoint (`UPSTASH_REDIS_REST_URL`) and its token (`UPSTASH_REDIS_REST_TOKEN`). */
  store: { url: string; token: string };
  /** Queue name (`FORKLIFT_QUEUE`). @default 'default' */
  queue: string;
  /** Key namespace (`FORKLIFT_NAMESPACE`). @default 'forklift' */
  namespace: string;
  /** The queue's shard count (`FORKLIFT_SHARDS`, 1-64; see shared/shards.ts). @default 1 */
  shards: number;
  /** Largest JSON payload of one task (`FORKLIFT_MAX_TASK_BYTES`). @default 262144 (256 KiB) */
  maxTaskBytes: number;
  /** Largest request body (`FORKLIFT_MAX_REQUEST_BYTES`). @default 1048576 (1 MiB) */
  maxRequestBytes: number;
  /** Time limit of one call to the store (`FORKLIFT_STORE_TIMEOUT_MS`). @default 5000 */
  storeTimeoutMs: number;
}

/** Defaults of the optional settings. */
export const CONFIG_DEFAULTS = Object.freeze({
  queue: 'default',
  namespace: 'forklift',
  shards: 1,
  maxTaskBytes: DEFAULT_MAX_PAYLOAD_BYTES,
  maxRequestBytes: 1024 * 1024,
  storeTimeoutMs: 5_000,
});

/** The outcome of reading the bindings. */
export type ConfigResult =
  | { ok: true; config: EdgeConfig }
  | {
      ok: false;
      /** The API tokens when they at least are valid (so callers can still be authenticated). */
      apiTokens: readonly string[];
      /** The read-only API tokens when they at least are valid (else none). */
      readOnlyApiTokens: readonly string[];
      /** One line per bad variable, each starting with its name. */
      problems: readonly string[];
    };

/** The URL rule of @upstash/redis (it throws on anything else). */
const UPSTASH_URL = /^https?:\/\/[^\s#$./?].\S*$/;

const text = (what: string) =>
  z
    .string({
      error: (issue) => (issue.input === undefined ? `is not set (${what})` : 'must be a string'),
    })
    .trim();
const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((s) => (s === '' ? undefined : s));
const positiveInt = (max: number) =>
  z
    .union([z.number(), z.string().trim().regex(/^\d+$/, 'must be a whole number')])
    .optional()
    .pipe(z.coerce.number<string | number | undefined>().int().min(1).max(max).optional());

const tokenList = (s: string) =>
  s
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
const tokenArray = z.array(z.string().regex(/^\S+$/, 'has a token with whitespace inside'));

const readOnlyTokens = z
  .string({ error: 'must be a string' })
  .optional()
  .transform((s) => tokenList(s ?? ''))
  .pipe(tokenArray);

const envSchema = z.object({
  FORKLIFT_API_TOKENS: text('a secret: comma-separated bearer tokens')
    .transform(tokenList)
    .pipe(tokenArray.min(1, 'lists no token')),
  FORKLIFT_API_READONLY_TOKENS: readOnlyTokens,
  UPSTASH_REDIS_REST_URL: text('a secret: the Redis REST endpoint').regex(
    UPSTASH_URL,
    'must be an http(s) URL, e.g. https://eu1-xxx.upstash.io',
  ),
  UPSTASH_REDIS_REST_TOKEN: text('a secret: the Redis REST token').min(1, 'is empty'),
  FORKLIFT_QUEUE: optionalText.pipe(
    z.string().regex(QUEUE_NAME_PATTERN, 'must be 1-64 characters of A-Z a-z 0-9 _ . -').optional(),
  ),
  FORKLIFT_NAMESPACE: optionalText.pipe(
    z
      .string()
      .regex(NAMESPACE_PATTERN, 'must be 1-64 characters of A-Z a-z 0-9 _ . : -')
      .optional(),
  ),
  FORKLIFT_SHARDS: positiveInt(MAX_SHARDS),
  FORKLIFT_MAX_TASK_BYTES: positiveInt(64 * 1024 * 1024),
  FORKLIFT_MAX_REQUEST_BYTES: positiveInt(100 * 1024 * 1024),
  FORKLIFT_STORE_TIMEOUT_MS: positiveInt(60_000),
});

/**
 * Reads and validates the bindings. Never throws.
 *
 * @example
 * const result = readConfig(env);
 * if (!result.ok) console.error(result.problems.join('\n'));
 */
export function readConfig(env: Readonly<Record<string, unknown>>): ConfigResult {
  const parsed = envSchema
    .superRefine((v, ctx) => {
      const full = new Set(v.FORKLIFT_API_TOKENS);
      if (v.FORKLIFT_API_READONLY_TOKENS.some((token) => full.has(token))) {
        ctx.addIssue({
          code: 'custom',
          path: ['FORKLIFT_API_READONLY_TOKENS'],
          message: 'has a token that FORKLIFT_API_TOKENS lists too (it would have full access)',
        });
      }
    })
    .safeParse(env);
  if (parsed.success) {
    const v = parsed.data;
    return {
      ok: true,
      config: {
        apiTokens: v.FORKLIFT_API_TOKENS,
        readOnlyApiTokens: v.FORKLIFT_API_READONLY_TOKENS,
        store: { url: v.UPSTASH_REDIS_REST_URL, token: v.UPSTASH_REDIS_REST_TOKEN },
        queue: v.FORKLIFT_QUEUE ?? CONFIG_DEFAULTS.queue,
        namespace: v.FORKLIFT_NAMESPACE ?? CONFIG_DEFAULTS.namespace,
        shards: v.FORKLIFT_SHARDS ?? CONFIG_DEFAULTS.shards,
        maxTaskBytes: v.FORKLIFT_MAX_TASK_BYTES ?? CONFIG_DEFAULTS.maxTaskBytes,
        maxRequestBytes: v.FORKLIFT_MAX_REQUEST_BYTES ?? CONFIG_DEFAULTS.maxRequestBytes,
        storeTimeoutMs: v.FORKLIFT_STORE_TIMEOUT_MS ?? CONFIG_DEFAULTS.storeTimeoutMs,
      },
    };
  }
  const problems = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? 'configuration');
    return `${name} ${issue.message}`;
  });
  const tokens = envSchema.shape.FORKLIFT_API_TOKENS.safeParse(env.FORKLIFT_API_TOKENS);
  const apiTokens = tokens.success ? tokens.data : [];
  const readOnly = readOnlyTokens.safeParse(env.FORKLIFT_API_READONLY_TOKENS);
  // A read-only token that is also a full one is a problem above: it stays full, as listed.
  const readOnlyApiTokens = readOnly.success
    ? readOnly.data.filter((token) => !apiTokens.includes(token))
    : [];
  return { ok: false, apiTokens, readOnlyApiTokens, problems };
}

/** `readConfig`, once per `env` object (that is, once per isolate). */
export const configFor: (env: object) => ConfigResult = memoizeByObject((env) =>
  readConfig(env as Record<string, unknown>),
);
