/**
 * Shared pieces of the property-based fuzz tests (test/edge/fuzz.test.ts,
 * test/gateway/fuzz.test.ts):
 *
 * - run settings from the environment: `FORKLIFT_FUZZ_SEED` (a fixed default, so `npm test` runs
 *   the same inputs every time; `random` picks one and prints it) and `FORKLIFT_FUZZ_RUNS`;
 * - `rawHttp`, a raw HTTP/1.1 client (node:http, a new connection per request) that sends what a
 *   fetch client refuses to (any method token, odd paths, garbled headers, chunked bodies) and
 *   tells a complete answer from a dropped connection;
 * - `takeSnapshot` / `snapshotDiff`: every key of a pattern with its type, value and PTTL, to
 *   prove that a request wrote nothing;
 * - generators of nasty strings (lone surrogates, NUL, controls, RTL marks, emoji), numbers and
 *   JSON, and a JSON writer that can emit what `JSON.stringify` cannot (`1e400`, duplicate keys).
 *
 * On failure fast-check prints `{ seed, path }` and the (shrunk) counterexample; replay it with
 * `FORKLIFT_FUZZ_SEED=<seed>` (and the same `FORKLIFT_FUZZ_RUNS`).
 */
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import * as fc from 'fast-check';
import type { Redis } from 'ioredis';

// ---------------------------------------------------------------------------------------------
// Run settings

/** The default seed: fixed, so every `npm test` fuzzes the same inputs. */
export const DEFAULT_FUZZ_SEED = 20_261_130;

function seedFromEnv(): number {
  const raw = process.env.FORKLIFT_FUZZ_SEED?.trim();
  if (raw === undefined || raw === '') return DEFAULT_FUZZ_SEED;
  if (raw === 'random') {
    const seed = (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
    console.info(`FORKLIFT_FUZZ_SEED=random: using seed ${seed}`);
    return seed;
  }
  const seed = Number(raw);
  if (!Number.isInteger(seed)) throw new Error(`FORKLIFT_FUZZ_SEED must be an integer: ${raw}`);
  return seed;
}

/** The seed of every fuzz property in this process. */
export const FUZZ_SEED = seedFromEnv();

/** Runs per property: `FORKLIFT_FUZZ_RUNS`, else `defaultRuns`. */
export function fuzzRuns(defaultRuns: number): number {
  const raw = process.env.FORKLIFT_FUZZ_RUNS?.trim();
  if (raw === undefined || raw === '') return defaultRuns;
  const runs = Number(raw);
  if (!Number.isInteger(runs) || runs < 1) {
    throw new Error(`FORKLIFT_FUZZ_RUNS must be a positive integer: ${raw}`);
  }
  return runs;
}

/**
 * The vitest time limit of a property with `runs` runs of about `msPerRun` each (generous: a
 * loaded machine and a shrinking phase fit in it).
 */
export function fuzzTimeoutMs(runs: number, msPerRun: number): number {
  return 120_000 + runs * msPerRun * 4;
}

/**
 * fast-check settings: the seed, the runs, `examples` (counterexamples found earlier, run first
 * every time), and a time limit 15 s under vitest's, so that a run that is too slow (or a long
 * shrink) still ends with fast-check's report (seed, path, counterexample) rather than a bare
 * vitest timeout.
 */
export function fuzzParameters<T>(
  runs: number,
  timeoutMs: number,
  examples: T[] = [],
): fc.Parameters<T> {
  return {
    seed: FUZZ_SEED,
    numRuns: runs,
    examples,
    interruptAfterTimeLimit: timeoutMs - 15_000,
    markInterruptAsFailure: true,
  };
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP

/** A request as `rawHttp` sends it. */
export interface RawRequest {
  method: string;
  /** The request target, sent as is (node refuses only bytes outside 0x21-0xff). */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Send the body chunked (in a few pieces) instead of with a Content-Length. */
  chunked?: boolean;
  /** Give up (and fail) after this long without a complete answer. @default 20000 */
  timeoutMs?: number;
}

/** A complete HTTP answer. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  json: unknown;
  /** A `text/event-stream` answer: only its start was read, then the connection was closed. */
  stream: boolean;
}

/** A body as sent with `Content-Encoding: encoding` → its bytes. */
function decode(bytes: Buffer, encoding: string): Buffer {
  if (bytes.length === 0) return bytes;
  switch (encoding.trim().toLowerCase()) {
    case 'gzip':
      return gunzipSync(bytes);
    case 'br':
      return brotliDecompressSync(bytes);
    case 'deflate':
      return inflateSync(bytes);
    default:
      return bytes;
  }
}

/** The server did not give a complete HTTP answer: refused, reset, cut short or silent. */
export class DroppedConnection extends Error {
  override name = 'DroppedConnection';
}

/**
 * Sends one request on a new connection and reads the whole answer. Rejects with
 * `DroppedConnection` when the connection fails or closes before the answer is complete (a body
 * shorter than its Content-Length included), or nothing complete arrives within `timeoutMs`. An
 * error while still sending the body after a complete answer arrived (a server answering 413
 * before reading everything) is not a failure.
 */
export function rawHttp(base: string | URL, req: RawRequest): Promise<RawResponse> {
  const url = new URL(base);
  const headers: Record<string, string | number> = { ...req.headers };
  const body = req.body;
  if (body !== undefined && !req.chunked) headers['content-length'] = body.length;
  if (body !== undefined && req.chunked) headers['transfer-encoding'] = 'chunked';
  const what = `${req.method} ${req.path.slice(0, 200)}`;
  return new Promise<RawResponse>((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outgoing.destroy();
      reject(new DroppedConnection(`${what}: ${why}`));
    };
    const timer = setTimeout(
      () => fail(`no complete answer within ${req.timeoutMs ?? 20_000} ms`),
      req.timeoutMs ?? 20_000,
    );
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers,
        agent: false,
        setHost: !Object.keys(headers).some((h) => h.toLowerCase() === 'host'),
      },
      (res) => {
        const chunks: Buffer[] = [];
        const stream = String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
        const done = () => {
          if (settled) return;
          const bytes = Buffer.concat(chunks);
          const declared = res.headers['content-length'];
          if (
            !stream &&
            req.method !== 'HEAD' &&
            declared !== undefined &&
            Number(declared) !== bytes.length
          ) {
            fail(`answer ${res.statusCode} cut short: ${bytes.length} of ${declared} bytes`);
            return;
          }
          let decoded: Buffer = bytes;
          try {
            decoded = decode(bytes, String(res.headers['content-encoding'] ?? ''));
          } catch (error) {
            fail(`answer ${res.statusCode} does not decode: ${(error as Error).message}`);
            return;
          }
          settled = true;
          clearTimeout(timer);
          const text = decoded.toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: decoded,
            text,
            json,
            stream,
          });
          if (stream) outgoing.destroy();
        };
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if (stream) done();
        });
        res.on('end', () => {
          if (res.complete) done();
          else fail(`answer ${res.statusCode} ended before it was complete`);
        });
        res.on('aborted', () => fail(`answer ${res.statusCode} aborted`));
        res.on('error', (error) => fail(`answer ${res.statusCode}: ${error.message}`));
        if (stream) setTimeout(done, 200);
      },
    );
    outgoing.on('error', (error) =>
      fail(`${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}`),
    );
    if (body === undefined) {
      outgoing.end();
    } else if (req.chunked) {
      const step = Math.max(1, Math.ceil(body.length / 3));
      for (let i = 0; i < body.length; i += step) outgoing.write(body.subarray(i, i + step));
      outgoing.end();
    } else {
      outgoing.end(body);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Key-space snapshots

/** One key as a snapshot records it. */
export interface KeyState {
  /** The key as JSON text (of its UTF-8 reading), for messages. */
  name: string;
  type: string;
  /** SHA-1 of the value in a canonical form (see `canonicalValue`). */
  value: string;
  /** PTTL when the snapshot was taken: -1 for no TTL. */
  pttl: number;
}

/** Every key of some part of a Redis, by `<db>:<hex of the key>`. */
export interface Snapshot {
  /** When the snapshot started and ended (`Date.now()`). */
  started: number;
  ended: number;
  keys: Map<string, KeyState>;
  /** Anything else to compare verbatim (e.g. the function libraries). */
  extra: Map<string, string>;
}

/** Every field and value (or member) of a hash or set, by repeated HSCAN / SSCAN. */
async function scanAll(redis: Redis, command: 'hscanBuffer' | 'sscanBuffer', key: Buffer) {
  const items: Buffer[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis[command](key, cursor, 'COUNT', 1000);
    cursor = next.toString();
    items.push(...batch);
  } while (cursor !== '0');
  return items;
}

/**
 * The value of `key` in a canonical form: DUMP is not one, as the iteration order of a hash or
 * set in a hash table changes when a mere read moves its incremental rehashing on. Strings and
 * lists as they are (a HyperLogLog without its cached count); hash fields and set members
 * sorted (duplicates from SCAN dropped); sorted sets in their order with scores; anything else
 * (streams) by DUMP.
 */
async function canonicalValue(redis: Redis, key: Buffer, type: string): Promise<Buffer[] | null> {
  switch (type) {
    case 'string': {
      const value = await redis.getBuffer(key);
      return value === null ? null : [withoutHllCache(value)];
    }
    case 'list':
      return redis.lrangeBuffer(key, 0, -1);
    case 'zset':
      return redis.zrangeBuffer(key, 0, '-1', 'WITHSCORES') as Promise<Buffer[]>;
    case 'hash': {
      const flat = await scanAll(redis, 'hscanBuffer', key);
      const pairs = new Map<string, Buffer>();
      for (let i = 0; i + 1 < flat.length; i += 2) {
        pairs.set((flat[i] as Buffer).toString('hex'), flat[i + 1] as Buffer);
      }
      return [...pairs.keys()]
        .sort()
        .flatMap((f) => [Buffer.from(f, 'hex'), pairs.get(f) as Buffer]);
    }
    case 'set': {
      const members = new Set(
        (await scanAll(redis, 'sscanBuffer', key)).map((m) => m.toString('hex')),
      );
      return [...members].sort().map((m) => Buffer.from(m, 'hex'));
    }
    default: {
      const dump = await redis.dumpBuffer(key);
      return dump === null ? null : [dump];
    }
  }
}

/**
 * A HyperLogLog without its cached cardinality (header bytes 8-15): PFCOUNT, which Redis flags
 * `readonly`, stores the count it computed there. The registers, the data, stay compared.
 */
function withoutHllCache(value: Buffer): Buffer {
  if (value.length < 16 || value.subarray(0, 4).toString('latin1') !== 'HYLL') return value;
  const copy = Buffer.from(value);
  copy.fill(0, 8, 16);
  return copy;
}

function digest(parts: readonly Buffer[]): string {
  const hash = createHash('sha1');
  for (const part of parts) hash.update(`${part.length}:`).update(part);
  return hash.digest('hex');
}

/**
 * Snapshot of every key matching `pattern` on each of `clients` (one per database, labelled by
 * its index in the map): TYPE, PTTL and the value in a canonical form.
 */
export async function takeSnapshot(
  clients: ReadonlyMap<number, Redis>,
  pattern: string,
): Promise<Snapshot> {
  const started = Date.now();
  const keys = new Map<string, KeyState>();
  for (const [db, redis] of clients) {
    const found: Buffer[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next.toString();
      found.push(...batch);
    } while (cursor !== '0');
    if (found.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const key of found) pipeline.type(key).pttl(key);
    const replies = (await pipeline.exec()) ?? [];
    await Promise.all(
      found.map(async (key, i) => {
        const type = String(replies[i * 2]?.[1]);
        const pttl = Number(replies[i * 2 + 1]?.[1]);
        if (type === 'none' || pttl === -2) return; // expired meanwhile
        const value = await canonicalValue(redis, key, type);
        if (value === null) return;
        keys.set(`${db}:${key.toString('hex')}`, {
          name: `db${db} ${JSON.stringify(key.toString('utf8'))}`,
          type,
          value: digest(value),
          pttl,
        });
      }),
    );
  }
  return { started, ended: Date.now(), keys, extra: new Map() };
}

/** Slack, in ms, for TTLs read at two moments. */
const TTL_SLACK_MS = 100;

/**
 * What changed between two snapshots: keys created, deleted, changed in type, value or TTL
 * (beyond the time that passed), and changed `extra` entries. A key whose TTL ran out between
 * the two is not a change. Empty when nothing was written.
 */
export function snapshotDiff(before: Snapshot, after: Snapshot): string[] {
  const elapsed = after.ended - before.started;
  const changes: string[] = [];
  for (const [id, was] of before.keys) {
    const now = after.keys.get(id);
    if (now === undefined) {
      if (!(was.pttl >= 0 && was.pttl <= elapsed + TTL_SLACK_MS)) {
        changes.push(`deleted ${was.name} (${was.type}, pttl ${was.pttl})`);
      }
      continue;
    }
    if (now.type !== was.type) changes.push(`${was.name}: type ${was.type} → ${now.type}`);
    else if (now.value !== was.value) changes.push(`${was.name}: value changed (${was.type})`);
    const ttlChanged =
      was.pttl < 0 || now.pttl < 0
        ? was.pttl !== now.pttl
        : now.pttl > was.pttl + 5 || now.pttl < was.pttl - elapsed - TTL_SLACK_MS;
    if (ttlChanged) changes.push(`${was.name}: pttl ${was.pttl} → ${now.pttl}`);
  }
  for (const [id, now] of after.keys) {
    if (!before.keys.has(id)) changes.push(`created ${now.name} (${now.type}, pttl ${now.pttl})`);
  }
  for (const [name, was] of before.extra) {
    if (after.extra.get(name) !== was) changes.push(`${name} changed`);
  }
  return changes;
}

// ---------------------------------------------------------------------------------------------
// Generators

/** `arbitrary`'s value in `percent` out of 100 cases, else `null`. */
export function maybe<T>(arbitrary: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | null> {
  return fc.oneof(
    { arbitrary, weight: percent },
    { arbitrary: fc.constant(null), weight: 100 - percent },
  );
}

/** A lone UTF-16 surrogate (high or low). */
export const loneSurrogate: fc.Arbitrary<string> = fc
  .integer({ min: 0xd800, max: 0xdfff })
  .map((unit) => String.fromCharCode(unit));

/** Characters that break naive code: NUL, controls, separators, marks, quotes, slashes. */
const TRICKY_CHARS = [
  '\u0000',
  '\u0001',
  '\t',
  '\n',
  '\r',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u00ff',
  '\u2028',
  '\u2029',
  '\u200b',
  '\u200e',
  '\u202e',
  '\ufeff',
  '\ufffd',
  '\uffff',
  '"',
  "'",
  '\\',
  '/',
  '%',
  '?',
  '#',
  '&',
  '=',
  '+',
  '*',
  '{',
  '}',
  ':',
  '.',
  ' ',
  '😀',
  '👩‍👩‍👧',
  'é',
  'ß',
  '中',
];

/** One unit of a nasty string: mostly printable, often tricky, sometimes a lone surrogate. */
const nastyUnit: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }), weight: 6 },
  { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 2 },
  { arbitrary: fc.constantFrom(...TRICKY_CHARS), weight: 3 },
  { arbitrary: loneSurrogate, weight: 1 },
);

/** Strings that mean something to some layer. */
export const SPECIAL_STRINGS = [
  '',
  ' ',
  'null',
  'true',
  '0',
  '-1',
  '1e400',
  'NaN',
  'Infinity',
  '__proto__',
  'constructor',
  'toString',
  '\u0000',
  '\ud800',
  '\udfff',
  'a\ud800b',
  '\udfff\ud800',
  '%',
  '%zz',
  '%FF',
  '%00',
  '.',
  '..',
  '../..',
  '/',
  '//',
  '\\',
  '?',
  '#',
  '*',
  '{',
  '}',
  '[',
  ']',
  '"',
  '{}',
  '[]',
];

/** A string of at most `maxLength` nasty units (or a special one). */
export function nastyString(maxLength = 24): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.string({ unit: nastyUnit, maxLength }), weight: 5 },
    { arbitrary: fc.constantFrom(...SPECIAL_STRINGS), weight: 1 },
  );
}

/** Numbers that are hard to carry exactly: huge, tiny, negative zero, just past limits. */
export const SPECIAL_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  0.1 + 0.2,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  2 ** 63,
  -(2 ** 63),
  2 ** 64,
  1e21,
  1e-7,
  5e-324,
  1.7976931348623157e308,
  -1.7976931348623157e308,
];

/** Any finite number, biased towards `SPECIAL_NUMBERS`. */
export const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(...SPECIAL_NUMBERS),
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Number tokens JSON text can hold but `JSON.stringify` never writes. */
export const RAW_NUMBER_TOKENS = [
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '-0',
  '1E+2',
  '1.0',
  '0.000000000000000000000000000001',
  '94906266',
  '9007199254740993',
];

/** A JSON token written verbatim by `toJsonText`. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** An object written with its entries in order, duplicates included. */
export class JsonEntries {
  constructor(readonly entries: readonly (readonly [string, JsonLike])[]) {}
}

/** What `toJsonText` writes: JSON values, raw tokens and ordered entries, at any depth. */
export type JsonLike =
  | null
  | boolean
  | number
  | string
  | RawJson
  | JsonEntries
  | readonly JsonLike[]
  | { readonly [key: string]: JsonLike };

/**
 * JSON text of `value`. Strings go through `JSON.stringify` (a lone surrogate becomes its `\uXXXX`
 * escape), `RawJson` is written as is, `JsonEntries` keeps duplicate keys.
 */
export function toJsonText(value: JsonLike): string {
  if (value instanceof RawJson) return value.text;
  if (value instanceof JsonEntries) {
    return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`;
  }
  if (Array.isArray(value)) return `[${value.map((v) => toJsonText(v as JsonLike)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const object = value as { readonly [key: string]: JsonLike };
    return `{${Object.keys(object)
      .map((k) => `${JSON.stringify(k)}:${toJsonText(object[k] as JsonLike)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Any JSON-like value of nasty strings, numbers and raw tokens, nested up to `maxDepth`. */
export function nastyJson(maxDepth = 3): fc.Arbitrary<JsonLike> {
  const { value } = fc.letrec<{ value: JsonLike }>((tie) => ({
    value: fc.oneof(
      { maxDepth, depthIdentifier: 'nasty-json' },
      { arbitrary: fc.constant(null), weight: 1 },
      { arbitrary: fc.boolean(), weight: 1 },
      { arbitrary: nastyNumber, weight: 2 },
      { arbitrary: fc.constantFrom(...RAW_NUMBER_TOKENS).map((t) => new RawJson(t)), weight: 1 },
      { arbitrary: nastyString(), weight: 3 },
      { arbitrary: fc.array(tie('value'), { maxLength: 4 }), weight: 1 },
      {
        arbitrary: fc
          .array(fc.tuple(nastyString(8), tie('value')), { maxLength: 4 })
          .map((entries) => new JsonEntries(entries)),
        weight: 1,
      },
    ),
  }));
  return value;
}

/** `depth` nested arrays (or objects) around `inner`: `[[[…inner…]]]`. */
export function deeplyNested(depth: number, kind: 'array' | 'object', inner = 'null'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;
}

/** Broken JSON text: truncated, garbled or not JSON at all. */
export function brokenJsonText(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    valid.chain((text) =>
      fc.nat({ max: Math.max(0, text.length - 1) }).map((cut) => text.slice(0, cut)),
    ),
    fc.tuple(valid, fc.nat(), nastyString(3)).map(([text, at, junk]) => {
      const i = text.length === 0 ? 0 : at % text.length;
      return `${text.slice(0, i)}${junk}${text.slice(i + 1)}`;
    }),
    nastyString(40),
    fc.constantFrom(
      '',
      ' ',
      '\n',
      '{',
      '[',
      '{"a":}',
      "{'a':1}",
      '[1,]',
      '{"a":1,}',
      'NaN',
      'undefined',
      '\ufeff{}',
      '{"a":"\\ud800"}',
      '{"a":"\\x00"}',
      '"\\u12"',
      '[1] [2]',
    ),
  );
}

/** Percent-encodes `bytes`: always what must be, unreserved ones too when `all`. */
export function percentEncode(bytes: Buffer, all = false): string {
  let out = '';
  for (const byte of bytes) {
    const c = String.fromCharCode(byte);
    out +=
      !all && /[A-Za-z0-9_.~-]/.test(c)
        ? c
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * A value that may go into a request target as node sends it: bytes outside 0x21-0x7e become
 * `%XX` (node refuses controls and spaces; workerd and the URL parser differ on 0x80-0xff).
 */
export function safeTarget(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte > 0x20 && byte < 0x7f
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Header values node accepts (no controls but tab; Latin-1), garbled and plausible. */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
  fc.string({
    unit: fc.oneof(
      fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
      fc.constantFrom('\t', ' ', '\u00a0', '\u00e9', '\u00ff'),
    ),
    maxLength: 40,
  }),
);

/** Content types worth sending (a JSON API must not care, or must refuse cleanly). */
export const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  '*/*',
  ';;;',
  '',
];

/** Methods: the usual ones, WebDAV ones node and workerd know, and lower-case or made-up tokens. */
export const METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'TRACE',
  'PROPFIND',
  'MKCOL',
  'PURGE',
  'QUERY',
  'get',
  'Post',
  'FOO',
  'X-FORKLIFT',
];

/** Method tokens no HTTP server knows: the HTTP layer may refuse them before the app runs. */
export const MADE_UP_METHODS: ReadonlySet<string> = new Set(['FOO', 'X-FORKLIFT']);

/** The method as the Fetch API normalizes it (the six standard ones are case-insensitive). */
export function fetchMethod(method: string): string {
  const upper = method.toUpperCase();
  return ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'].includes(upper) ? upper : method;
}
