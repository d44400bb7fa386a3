/**
 * Property-based fuzzing of the gateway's REST protocol (fast-check), over raw HTTP/1.1, against
 * a throwaway redis-server of its own (the generated commands include FLUSHALL, SCRIPT FLUSH,
 * FUNCTION FLUSH, MOVE to other databases, and Lua). Two gateways in front of it: one without
 * an allowlist (body limit 64 KiB, so the fuzzer reaches it), one with
 * `FORKLIFT_GATEWAY_ALLOW=forklift`; each with a full and a read-only token.
 *
 * Generated: `POST /` commands, `/pipeline` and `/multi-exec` batches (0-5 commands), path-style
 * commands (`GET|HEAD|POST|PUT /<cmd>/<arg>/…`, percent-encoded or raw segments, query
 * arguments, a raw body); command names from the gateway's table (any case, subcommands
 * included), refused ones, made-up ones; arguments: keys (under `fz:`), option words, numbers
 * (`1e21`, `-0`, 2^64, fractions), strings with lone surrogates, NUL, controls and emoji,
 * booleans, and garbage (null, nested arrays, objects); loop-free Lua (writing, erroring,
 * nested replies) and Forklift's read-only scripts by body and SHA1; broken JSON, bodies nested
 * 30 000 deep, wrong shapes, bodies over the limit, chunked bodies; Authorization (valid,
 * spacing and case variants, the other gateway's token, garbled, absent) and `_token`;
 * `Upstash-Encoding` variants; other methods and routes.
 *
 * Checked for every request:
 * 1. no 5xx: the throwaway Redis is always up and nothing here stalls it, so none of the
 *    documented 503s (Redis unreachable, subscriber cap, unkillable script) applies; every answer
 *    is JSON with `upstash-sync-token`: `{"result"}`, an array of `{"result"}`/`{"error"}` items,
 *    or `{"error": "<text>"}` for every non-2xx; 405 names `Allow`; the status follows the docs
 *    (405 before 401 before 413; malformed JSON or shape, bad percent-encoding: 400; a
 *    well-formed batch answers one item per command);
 * 2. a complete HTTP answer, never a dropped or cut connection;
 * 3. nothing written (every key of every database: type, value, PTTL; and the function
 *    libraries) by: any 4xx (except a Redis error raised by Lua that wrote before failing, as Redis
 *    keeps such writes), a batch whose every item failed (Lua aside), any request of a read-only
 *    token, and any request under the `forklift` preset but Forklift's own scripts — which refuses
 *    every command outside its documented list (EVAL*, EVALSHA*, SCRIPT LOAD/EXISTS, PING) with a
 *    400 / item error / EXECABORT;
 * 4. writes (SET, HSET, RPUSH, INCRBY on a fresh key under `fz:w:`, by `/`, `/pipeline`,
 *    `/multi-exec` or path style, values as JSON strings, numbers, booleans or a raw body) answer
 *    as Redis does and are read back (GET, HGETALL, LRANGE through the gateway with or without
 *    base64, and directly) as the bytes sent: strings as UTF-8 (a lone surrogate as U+FFFD),
 *    numbers as `String(n)`, booleans as `true`/`false`, integers' exact digits; ECHO returns its
 *    argument the same way; refused for read-only tokens and under the preset, writing nothing.
 *
 * Settings: FORKLIFT_FUZZ_RUNS (default 400 runs) and FORKLIFT_FUZZ_SEED (a fixed
 * default, or `random`); on failure fast-check prints the seed, the path and the shrunk
 * counterexample.
 * A longer run:   FORKLIFT_FUZZ_RUNS=5000 npx vitest run test/gateway/fuzz.test.ts
 * Replay a seed:  FORKLIFT_FUZZ_SEED=<seed> npx vitest run test/gateway/fuzz.test.ts
 * What it hit:    FORKLIFT_FUZZ_STATS=1 prints the answers seen (route, method or token, status).
 */
import { createHash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { connect } from 'node:net';
import * as fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueKeys } from '../../shared/keys.js';
import { getTaskScript, listDeadScript, statsScript } from '../../shared/scripts/index.js';
import { COMMAND_TABLE } from '../../worker-host/gateway/command-table.js';
import { FORKLIFT_SCRIPT_SHAS } from '../../worker-host/gateway/forklift-scripts.js';
import {
  brokenJsonText,
  deeplyNested,
  fetchMethod,
  fuzzParameters,
  fuzzRuns,
  fuzzTimeoutMs,
  headerValue,
  JsonEntries,
  type JsonLike,
  MADE_UP_METHODS,
  METHODS,
  maybe,
  nastyJson,
  nastyString,
  percentEncode,
  RawJson,
  type RawRequest,
  type RawResponse,
  rawHttp,
  type Snapshot,
  safeTarget,
  snapshotDiff,
  takeSnapshot,
  toJsonText,
} from '../support/fuzz.js';
import {
  startTestGateway,
  startThrowawayRedis,
  type TestGateway,
  type ThrowawayRedis,
} from '../support/gateway.js';

const RUNS = fuzzRuns(400);
const TIMEOUT_MS = fuzzTimeoutMs(RUNS, 100);

/** Body limit of the gateway without allowlist (the default, 1 MiB, is the preset's). */
const OPEN_MAX_BODY = 64 * 1024;
const PRESET_MAX_BODY = 1024 * 1024;
/** Every generated key starts with this. */
const P = 'fz:';

let spare: ThrowawayRedis;
let gateways: Record<'open' | 'preset', TestGateway>;
/** Direct connections to the throwaway server, one per database (made on first use). */
const direct = new Map<number, Redis>();

function db(index: number): Redis {
  let conn = direct.get(index);
  if (!conn) {
    conn = new Redis(spare.url, { db: index, maxRetriesPerRequest: 1 });
    direct.set(index, conn);
  }
  return conn;
}

beforeAll(async () => {
  spare = await startThrowawayRedis();
  const [open, preset] = await Promise.all([
    startTestGateway({ redisUrl: spare.url, config: { maxBodyBytes: OPEN_MAX_BODY } }),
    startTestGateway({ redisUrl: spare.url, allow: 'forklift' }),
  ]);
  gateways = { open, preset };
});

afterAll(async () => {
  if (process.env.FORKLIFT_FUZZ_STATS) {
    console.info(
      [...seen]
        .sort()
        .map(([k, n]) => `${n}\t${k}`)
        .join('\n'),
    );
  }
  for (const conn of direct.values()) conn.disconnect();
  await Promise.all([gateways?.open.close(), gateways?.preset.close()]);
  await spare?.kill();
});

// ---------------------------------------------------------------------------------------------
// Who sends the request

type GatewayName = 'open' | 'preset';
type TokenKind = 'full' | 'readonly' | 'other-gateway' | 'wrong' | 'none';

interface Who {
  gateway: GatewayName;
  token: TokenKind;
  /** How the token travels: `Authorization` (spelled as `style`), `_token`, or both. */
  via: 'header' | 'query' | 'header-and-wrong-query' | 'garbled-header-and-query';
  style: 'Bearer' | 'bearer' | 'BEARER\t' | '  Bearer  ';
  /** A garbled Authorization value (for `garbled-header-and-query`). */
  garbled: string;
}

const who: fc.Arbitrary<Who> = fc.record({
  gateway: fc.constantFrom<GatewayName>('open', 'open', 'preset'),
  token: fc.oneof(
    { arbitrary: fc.constant<TokenKind>('full'), weight: 10 },
    { arbitrary: fc.constant<TokenKind>('readonly'), weight: 4 },
    { arbitrary: fc.constantFrom<TokenKind>('other-gateway', 'wrong', 'none'), weight: 2 },
  ),
  via: fc.oneof(
    { arbitrary: fc.constant('header' as const), weight: 8 },
    {
      arbitrary: fc.constantFrom(
        'query' as const,
        'header-and-wrong-query' as const,
        'garbled-header-and-query' as const,
      ),
      weight: 2,
    },
  ),
  style: fc.constantFrom(
    'Bearer' as const,
    'bearer' as const,
    'BEARER\t' as const,
    '  Bearer  ' as const,
  ),
  garbled: headerValue,
});

function tokenOf(w: Who): string | null {
  const gw = gateways[w.gateway];
  switch (w.token) {
    case 'full':
      return gw.token;
    case 'readonly':
      return gw.readonlyToken;
    case 'other-gateway':
      return gateways[w.gateway === 'open' ? 'preset' : 'open'].token;
    case 'wrong':
      return `${gw.token}x`;
    case 'none':
      return null;
  }
}

/** What the request carries to authenticate: its Authorization header and `_token`. */
function credentials(w: Who): { authorization?: string; query?: string } {
  const token = tokenOf(w);
  if (token === null) return {};
  const header = `${w.style} ${token}`;
  switch (w.via) {
    case 'header':
      return { authorization: header };
    case 'query':
      return { query: `_token=${encodeURIComponent(token)}` };
    case 'header-and-wrong-query':
      return { authorization: header, query: '_token=wrong' };
    case 'garbled-header-and-query':
      // A header that is not `Bearer <token>` does not hide `_token`.
      return {
        authorization: /^\s*bearer\s+\S+\s*$/i.test(w.garbled) ? 'Basic x' : w.garbled,
        query: `_token=${encodeURIComponent(token)}`,
      };
  }
}

/** The access the docs give these credentials (`null`: 401). */
function access(w: Who): 'full' | 'readonly' | null {
  return w.token === 'full' || w.token === 'readonly' ? w.token : null;
}

// ---------------------------------------------------------------------------------------------
// Commands

/** A key argument: written as `fz:<name>`. */
class Key {
  constructor(readonly name: string) {}
}

/** An argument as generated: a key, a JSON scalar, or garbage the gateway must refuse. */
type Arg = Key | string | number | boolean | RawJson | JsonEntries | null | readonly JsonLike[];

const KEY_NAMES = ['a', 'b', 'c', 'h', 'l', 's', 'z', 'x', '{default}:dead', '{default}:stats'];
const key: fc.Arbitrary<Key> = fc
  .oneof(
    { arbitrary: fc.constantFrom(...KEY_NAMES), weight: 5 },
    { arbitrary: nastyString(8), weight: 1 },
  )
  .map((name) => new Key(name));

/** Bounded numbers: a huge count or offset (SRANDMEMBER -2^40, SETBIT 2^31) would stall Redis. */
const argNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -1000, max: 100_000 }),
  fc.constantFrom(0, -0, 1, -1, 0.5, -2.5, 0.1 + 0.2, 1e21, 2 ** 64, -(2 ** 64), 1e300, 5e-324),
);

const OPTION_WORDS = [
  'EX',
  'PX',
  'NX',
  'XX',
  'GET',
  'KEEPTTL',
  'WITHSCORES',
  'LIMIT',
  'COUNT',
  'MATCH',
  'TYPE',
  'STREAMS',
  'BLOCK',
  'REPLACE',
  'DB',
  'ASYNC',
  'SYNC',
  'BYSCORE',
  'REV',
  'STORE',
  '$',
  '>',
  '*',
  '-',
  '+',
  '(1',
  '[a',
  'inf',
  '-inf',
  '0',
  '1',
  '-1',
];

const scalarArg: fc.Arbitrary<Arg> = fc.oneof(
  { arbitrary: key, weight: 5 },
  { arbitrary: fc.constantFrom(...OPTION_WORDS), weight: 3 },
  { arbitrary: argNumber, weight: 3 },
  { arbitrary: nastyString(16), weight: 3 },
  { arbitrary: fc.boolean(), weight: 1 },
);

const garbageArg: fc.Arbitrary<Arg> = fc.oneof(
  fc.constant(null),
  fc.constantFrom(
    ...['1e400', '-1e400', '123456789012345678901234567890'].map((t) => new RawJson(t)),
  ),
  fc.array(nastyJson(1), { maxLength: 2 }),
  nastyJson(1).map((v) => new JsonEntries([['k', v]])),
);

/** Every classified command as `[NAME]` or `[NAME, SUB]`. */
const TABLE: readonly string[][] = [...COMMAND_TABLE.keys()].map((k) => k.split('|'));

function randomCase(word: string, mask: number): string {
  return [...word].map((c, i) => ((mask >> (i % 30)) & 1 ? c.toLowerCase() : c)).join('');
}

const commandHead: fc.Arbitrary<string[]> = fc.oneof(
  {
    arbitrary: fc
      .tuple(fc.constantFrom(...TABLE), fc.oneof(fc.constant(0), fc.nat()))
      .map(([words, mask]) => words.map((w) => randomCase(w, mask))),
    weight: 12,
  },
  {
    // What Forklift's clients run, and what a write-capable fuzz needs often.
    arbitrary: fc.constantFrom<string[]>(
      ['PING'],
      ['SET'],
      ['GET'],
      ['HSET'],
      ['RPUSH'],
      ['DEL'],
      ['EXISTS'],
    ),
    weight: 4,
  },
  {
    arbitrary: fc.constantFrom<string[]>(
      ['FLUSHALL'],
      ['FLUSHDB'],
      ['SWAPDB'],
      ['SHUTDOWN'],
      ['DEBUG'],
      ['MONITOR'],
      ['MULTI'],
      ['EXEC'],
      ['SUBSCRIBE'],
      ['CLIENT', 'KILL'],
      ['CONFIG', 'SET'],
      ['SCRIPT', 'KILL'],
      ['SCRIPT', 'DEBUG'],
      ['SCRIPT', 'NOSUCH'],
      ['XREAD', 'BLOCK'],
      ['BLPOP'],
      ['pipeline'],
      ['multi-exec'],
    ),
    weight: 2,
  },
  { arbitrary: nastyString(12).map((name) => [name]), weight: 1 },
);

/** Loop-free Lua: replies of every shape, writes, errors, and an error after a write. */
const LUA = [
  'return 1',
  'return 3.99',
  "return 'x'",
  'return nil',
  'return {1, "a", {2, {3}}, nil, 4}',
  "return {err = 'fz: custom error'}",
  "return redis.error_reply('fz: error reply')",
  "return redis.status_reply('OK')",
  "return redis.call('GET', KEYS[1])",
  "return redis.call('SET', KEYS[1], ARGV[1] or 'v')",
  "return redis.pcall('INCR', KEYS[1])",
  "redis.call('SET', KEYS[1] or 'fz:lua', 'w'); error('fz: failed after a write')",
  "return redis.call('nosuchcommand')",
  "return redis.call('FLUSHALL')",
  "return redis.call('SHUTDOWN')",
  "return {redis.call('PING'), redis.pcall('INCR', 'fz:a')}",
  'return 1 +',
];

const LUA_RO_SCRIPTS = [getTaskScript, statsScript, listDeadScript];
/** Forklift's scripts under `fz:` (keys as the engine builds them), the same for every call. */
const forkliftKeys = queueKeys('default', 'fz');

const FUNCTION_LIBRARY = [
  '#!lua name=fzlib',
  "redis.register_function('fz_echo', function(keys, args) return args[1] end)",
  "redis.register_function{function_name='fz_ro', callback=function(keys, args) return #keys end, flags={'no-writes'}}",
  "redis.register_function('fz_set', function(keys, args) return redis.call('SET', keys[1], args[1] or 'f') end)",
].join('\n');

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** Lua-running commands (their errors may come after writes). */
const LUA_COMMANDS = new Set(['EVAL', 'EVALSHA', 'EVAL_RO', 'EVALSHA_RO', 'FCALL', 'FCALL_RO']);

const luaCommand: fc.Arbitrary<Arg[]> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('EVAL', 'EVAL_RO', 'eval'),
      fc.oneof(fc.constantFrom(...LUA), nastyString(20)),
      fc.array(scalarArg, { maxLength: 3 }),
    )
    .map(([name, body, rest]) => [name, body, 1, new Key('lua'), ...rest]),
  fc
    .tuple(
      fc.constantFrom('EVALSHA', 'EVALSHA_RO', 'evalsha'),
      fc.oneof(
        fc.constantFrom(...LUA.map(sha1)),
        fc.constantFrom(...FORKLIFT_SCRIPT_SHAS).map((s) => s.toUpperCase()),
        fc.constantFrom(...FORKLIFT_SCRIPT_SHAS),
        fc.stringMatching(/^[0-9a-f]{40}$/),
      ),
      fc.array(scalarArg, { maxLength: 3 }),
    )
    .map(([name, sha, rest]) => [name, sha, 1, new Key('lua'), ...rest]),
  fc
    .tuple(
      fc.constantFrom('EVAL', 'EVAL_RO', 'EVALSHA', 'EVALSHA_RO'),
      fc.constantFrom(...LUA_RO_SCRIPTS),
      fc.array(fc.oneof(fc.constantFrom('x', '0', '10', ''), argNumber), { maxLength: 3 }),
    )
    .map(([name, script, argv]): Arg[] => [
      name,
      name.startsWith('EVALSHA') ? sha1(script.source) : script.source,
      forkliftKeys.scriptKeys.length,
      ...forkliftKeys.scriptKeys,
      forkliftKeys.prefix,
      ...argv,
    ]),
  fc
    .tuple(fc.constantFrom('SCRIPT'), fc.constantFrom('LOAD', 'EXISTS'), fc.constantFrom(...LUA))
    .map(([name, sub, body]) => [name, sub, sub === 'LOAD' ? body : sha1(body)]),
  fc.constantFrom(...LUA_RO_SCRIPTS).map((s): Arg[] => ['SCRIPT', 'LOAD', s.source]),
  fc.constantFrom<Arg[]>(
    ['FUNCTION', 'LOAD', 'REPLACE', FUNCTION_LIBRARY],
    ['FCALL', 'fz_echo', 0, 'hi'],
    ['FCALL', 'fz_set', 1, new Key('f'), 'v'],
    ['FCALL_RO', 'fz_ro', 1, new Key('f')],
    ['FCALL_RO', 'fz_set', 1, new Key('f'), 'v'],
    ['FUNCTION', 'DELETE', 'fzlib'],
    ['FUNCTION', 'LIST'],
    ['SCRIPT', 'FLUSH'],
  ),
);

/** A command: mostly well-formed, sometimes with garbage arguments. */
const command: fc.Arbitrary<Arg[]> = fc.oneof(
  {
    arbitrary: fc
      .tuple(commandHead, fc.array(scalarArg, { maxLength: 5 }))
      .map(([head, args]) => [...head, ...args]),
    weight: 12,
  },
  { arbitrary: luaCommand, weight: 3 },
  {
    arbitrary: fc
      .tuple(commandHead, fc.array(fc.oneof(scalarArg, garbageArg), { minLength: 1, maxLength: 3 }))
      .map(([head, args]) => [...head, ...args]),
    weight: 1,
  },
  { arbitrary: fc.constant<Arg[]>([]), weight: 1 },
);

/** The JSON form of an argument (keys under `fz:`). */
function argJson(arg: Arg): JsonLike {
  return arg instanceof Key ? `${P}${arg.name}` : (arg as JsonLike);
}

/**
 * Whether every argument is a string, number or boolean (the only kinds the protocol takes). A
 * number token JavaScript cannot hold (`1e400`, 30 digits) is still a number: it is sent as
 * `String(JSON.parse(token))` (`Infinity`, `1.2345678901234568e+29`), as the docs say.
 */
function scalarsOnly(args: readonly Arg[]): boolean {
  return args.every(
    (a) =>
      a instanceof Key ||
      a instanceof RawJson ||
      typeof a === 'string' ||
      typeof a === 'boolean' ||
      typeof a === 'number',
  );
}

/** The argument as the gateway sends it to Redis (for a scalar). */
function argText(arg: Arg): string {
  if (arg instanceof Key) return `${P}${arg.name}`;
  if (arg instanceof RawJson) return String(JSON.parse(arg.text));
  if (typeof arg === 'boolean') return arg ? 'true' : 'false';
  return String(arg);
}

// ---------------------------------------------------------------------------------------------
// Requests

type Encoding = 'base64' | 'BASE64' | ' base64 ' | 'utf8' | 'none';
const encoding: fc.Arbitrary<Encoding> = fc.constantFrom(
  'base64',
  'none',
  'base64',
  'none',
  'BASE64',
  ' base64 ',
  'utf8',
);

interface Shape {
  /** Send the body chunked rather than with Content-Length. */
  chunked: boolean;
  encoding: Encoding;
  contentType: string | null;
}

const shape: fc.Arbitrary<Shape> = fc.record({
  chunked: fc.boolean(),
  encoding,
  contentType: maybe(
    fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
    30,
  ),
});

/** The body of `POST /` and of the batch routes: JSON, broken JSON, or a size past the limit. */
type JsonBody =
  | { kind: 'json'; value: JsonLike }
  | { kind: 'text'; text: string }
  | { kind: 'oversize'; value: JsonLike; size: number };

type Step =
  | { kind: 'single'; who: Who; shape: Shape; command: Arg[]; body: JsonBody | null }
  | {
      kind: 'batch';
      route: '/pipeline' | '/multi-exec';
      who: Who;
      shape: Shape;
      commands: Arg[][];
      body: JsonBody | null;
    }
  | {
      kind: 'path';
      who: Who;
      shape: Shape;
      method: string;
      command: Arg[];
      /** Per segment: percent-encoded (also unreserved bytes when `all`) or raw. */
      encode: 'some' | 'all' | 'raw';
      query: [string, string][];
      body: number[] | null;
    }
  | { kind: 'odd'; who: Who; shape: Shape; method: string; path: string; body: string | null }
  | WriteStep;

type Value = string | number | boolean;

interface WriteStep {
  kind: 'write';
  who: Who;
  op: 'SET' | 'HSET' | 'RPUSH' | 'INCRBY' | 'ECHO';
  values: Value[];
  via: 'single' | 'pipeline' | 'multi' | 'path' | 'path-body';
  /** For `path-body`: the raw bytes sent as the last value. */
  raw: number[];
  writeB64: boolean;
  readB64: boolean;
  readVia: 'single' | 'path';
}

const sizedJson = (inner: fc.Arbitrary<JsonLike>): fc.Arbitrary<JsonBody> =>
  fc.oneof(
    { arbitrary: inner.map((value): JsonBody => ({ kind: 'json', value })), weight: 10 },
    {
      arbitrary: brokenJsonText(inner.map(toJsonText)).map(
        (text): JsonBody => ({ kind: 'text', text }),
      ),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(
          fc.constantFrom(2, 100, 30_000),
          fc.constantFrom('array' as const, 'object' as const),
        )
        .map(
          ([depth, kind]): JsonBody => ({
            kind: 'text',
            text: deeplyNested(depth, kind, '"PING"'),
          }),
        ),
      weight: 1,
    },
    {
      arbitrary: fc
        .tuple(inner, fc.constantFrom(OPEN_MAX_BODY, OPEN_MAX_BODY + 1, OPEN_MAX_BODY + 5000))
        .map(([value, size]): JsonBody => ({ kind: 'oversize', value, size })),
      weight: 1,
    },
  );

const singleStep: fc.Arbitrary<Step> = fc
  .tuple(who, shape, command, maybe(fc.constant(true), 10))
  .chain(([w, s, cmd, anyJson]) =>
    // Mostly the generated command; one time in ten any JSON.
    (anyJson === null ? sizedJson(fc.constant(cmd.map(argJson))) : sizedJson(nastyJson(3))).map(
      (body): Step => ({ kind: 'single', who: w, shape: s, command: cmd, body }),
    ),
  );

const batchStep: fc.Arbitrary<Step> = fc
  .tuple(
    fc.constantFrom('/pipeline' as const, '/multi-exec' as const),
    who,
    shape,
    fc.array(command, { maxLength: 5 }),
    maybe(fc.constant(true), 10),
  )
  .chain(([route, w, s, commands, anyJson]) =>
    (anyJson === null
      ? sizedJson(fc.constant(commands.map((c) => c.map(argJson))))
      : sizedJson(fc.oneof(nastyJson(3), fc.array(nastyJson(2), { maxLength: 3 })))
    ).map((body): Step => ({ kind: 'batch', route, who: w, shape: s, commands, body })),
  );

const pathStep: fc.Arbitrary<Step> = fc.record({
  kind: fc.constant('path' as const),
  who,
  shape,
  method: fc.oneof(
    { arbitrary: fc.constantFrom('GET', 'POST', 'HEAD', 'PUT'), weight: 10 },
    { arbitrary: fc.constantFrom(...METHODS), weight: 1 },
  ),
  command: fc
    .tuple(commandHead, fc.array(scalarArg, { maxLength: 4 }))
    .map(([head, args]): Arg[] => [...head, ...args])
    // The SSE routes stream until the client leaves: test/gateway/sse*.test.ts covers them.
    .filter((c) => !['subscribe', 'psubscribe'].includes(String(c[0]))),
  encode: fc.constantFrom('some' as const, 'some' as const, 'all' as const, 'raw' as const),
  query: fc.array(
    fc.tuple(
      fc.constantFrom('EX', 'NX', 'PX', 'x', '_token', ''),
      fc.oneof(fc.constant(''), argNumber.map(String), nastyString(6)),
    ),
    { maxLength: 2 },
  ),
  body: maybe(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 16 }), 30),
});

const oddStep: fc.Arbitrary<Step> = fc.record({
  kind: fc.constant('odd' as const),
  who,
  shape,
  method: fc.constantFrom(...METHODS),
  path: fc.oneof(
    fc.constantFrom(
      '/',
      '/pipeline',
      '/multi-exec',
      '/pipeline/',
      '/subscribe',
      '/psubscribe/',
      '//',
      '/%',
      '/%zz',
      '/%FF',
      '/%C0%AF',
      '/get/%ED%A0%80',
      '/ping/a%2Fb',
      '/ping/..',
      '/ping/./x',
      '/get/a\\b',
      '/ping?_token',
      '/monitor',
      '/PING',
    ),
    nastyString(10).map((s) => `/${safeTarget(s)}`),
  ),
  body: maybe(fc.oneof(fc.constant('["PING"]'), fc.constant('[["PING"]]'), nastyString(10)), 50),
});

const writeValue: fc.Arbitrary<Value> = fc.oneof(
  { arbitrary: nastyString(24), weight: 4 },
  { arbitrary: argNumber, weight: 2 },
  { arbitrary: fc.boolean(), weight: 1 },
);

const writeStep: fc.Arbitrary<Step> = fc
  .record({
    who,
    op: fc.constantFrom(
      'SET' as const,
      'HSET' as const,
      'RPUSH' as const,
      'INCRBY' as const,
      'ECHO' as const,
    ),
    via: fc.constantFrom(
      'single' as const,
      'pipeline' as const,
      'multi' as const,
      'path' as const,
      'path-body' as const,
    ),
    raw: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 24 }),
    writeB64: fc.boolean(),
    readB64: fc.boolean(),
    readVia: fc.constantFrom('single' as const, 'path' as const),
    values: fc.array(writeValue, { minLength: 1, maxLength: 6 }),
    big: fc.bigInt({ min: -(2n ** 63n) + 1n, max: 2n ** 63n - 1n }),
  })
  .map(({ op, values, big, via, ...rest }): Step => {
    const path = via === 'path' || via === 'path-body';
    // A path segment cannot be empty (an empty last one is dropped).
    const fit = values.map((v) => (path && v === '' ? '~' : v));
    const sized =
      op === 'SET' || op === 'ECHO'
        ? fit.slice(0, 1)
        : op === 'HSET'
          ? fit.slice(0, Math.max(2, fit.length - (fit.length % 2)))
          : op === 'INCRBY'
            ? [big.toString()]
            : fit;
    while (op === 'HSET' && sized.length < 2) sized.push('v');
    return {
      kind: 'write',
      op,
      values: sized,
      via: op === 'INCRBY' && via === 'path-body' ? 'path' : via,
      ...rest,
    };
  });

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: singleStep, weight: 5 },
  { arbitrary: batchStep, weight: 4 },
  { arbitrary: pathStep, weight: 3 },
  { arbitrary: writeStep, weight: 4 },
  { arbitrary: oddStep, weight: 1 },
);

function jsonBodyBytes(body: JsonBody): Buffer {
  switch (body.kind) {
    case 'json':
      return Buffer.from(toJsonText(body.value), 'utf8');
    case 'text':
      return Buffer.from(body.text, 'utf8');
    case 'oversize': {
      const text = Buffer.from(toJsonText(body.value), 'utf8');
      return Buffer.concat([text, Buffer.alloc(Math.max(0, body.size - text.length), 0x20)]);
    }
  }
}

function baseRequest(
  w: Who,
  s: Shape,
  method: string,
  path: string,
  query: string[] = [],
): RawRequest {
  const { authorization, query: tokenQuery } = credentials(w);
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (s.encoding !== 'none') headers['upstash-encoding'] = s.encoding;
  if (s.contentType !== null) headers['content-type'] = s.contentType;
  // The token first: the gateway reads the first `_token` (generated queries may hold more).
  const params = [...(tokenQuery === undefined ? [] : [tokenQuery]), ...query];
  if (params.length === 0) return { method, path, headers };
  // A raw segment may hold a `?` already.
  return { method, path: `${path}${path.includes('?') ? '&' : '?'}${params.join('&')}`, headers };
}

function encodeSegment(text: string, mode: 'some' | 'all' | 'raw'): string {
  return mode === 'raw'
    ? safeTarget(text)
    : percentEncode(Buffer.from(text, 'utf8'), mode === 'all');
}

/** The request of a step, and how it must be answered as far as the docs pin it down. */
interface Plan {
  req: RawRequest;
  /** The exact status, when the docs fix it. */
  status: number | null;
  /** For a batch with a well-formed body: the number of items of a 200 answer. */
  items: number | null;
  /** Commands as sent (for the write rules), when the body is well-formed. */
  commands: Arg[][] | null;
}

/**
 * Docs: "405 method other than GET/HEAD/POST/PUT", checked before the token; then 401. Before
 * either, the HTTP layer refuses (400) a method token it does not know and a backslash in the
 * path (the URL parser would turn it into a slash).
 */
function gate(w: Who, sent: string, target: string): number | null {
  const method = fetchMethod(sent);
  if (MADE_UP_METHODS.has(method) || target.split('?')[0]?.includes('\\')) return 400;
  if (!['GET', 'HEAD', 'POST', 'PUT'].includes(method)) return 405;
  return access(w) === null ? 401 : null;
}

function wellFormedCommand(c: readonly Arg[]): boolean {
  return c.length > 0 && scalarsOnly(c);
}

function plan(s: Exclude<Step, WriteStep>): Plan {
  const limit = s.who.gateway === 'open' ? OPEN_MAX_BODY : PRESET_MAX_BODY;
  switch (s.kind) {
    case 'single':
    case 'batch': {
      const path = s.kind === 'single' ? '/' : s.route;
      const req = baseRequest(s.who, s.shape, 'POST', path);
      if (s.body !== null) {
        req.body = jsonBodyBytes(s.body);
        req.chunked = s.shape.chunked;
      }
      const size = req.body?.length ?? 0;
      let status = gate(s.who, 'POST', path) ?? (size > limit ? 413 : null);
      let items: number | null = null;
      let commands: Arg[][] | null = null;
      if (status === null && s.body !== null && s.body.kind !== 'text') {
        // Only the generated command(s) are known to be well-formed or not.
        const list = s.kind === 'single' ? [s.command] : s.commands;
        const generated =
          toJsonText(s.body.value) ===
          toJsonText(
            s.kind === 'single' ? s.command.map(argJson) : s.commands.map((c) => c.map(argJson)),
          );
        if (generated && !list.every(wellFormedCommand)) status = 400;
        else if (generated) {
          commands = list;
          if (s.kind === 'batch') {
            items = list.length;
            if (s.route === '/pipeline' || list.length === 0) status = 200;
          }
        }
      }
      if (status === null && s.body === null) status = 400;
      if (status === null && s.body?.kind === 'text') {
        try {
          JSON.parse(s.body.text);
        } catch {
          status = 400;
        }
      }
      return { req, status, items, commands };
    }
    case 'path': {
      const method = s.method;
      const segments = s.command.map((a) => encodeSegment(argText(a), s.encode));
      const query = s.query.map(([k, v]) =>
        v === ''
          ? encodeSegment(k, 'some')
          : `${encodeSegment(k, 'some')}=${encodeSegment(v, 'some')}`,
      );
      const req = baseRequest(s.who, s.shape, method, `/${segments.join('/')}`, query);
      if (s.body !== null) {
        req.body = Buffer.from(s.body);
        req.chunked = s.shape.chunked;
      }
      const status = gate(s.who, method, req.path);
      // `/pipeline` and `/multi-exec` are routes of their own, not path-style commands.
      const route =
        s.command.length === 1 && ['pipeline', 'multi-exec'].includes(argText(s.command[0] ?? ''));
      if (route) {
        const post = ['POST', 'PUT'].includes(fetchMethod(method));
        return { req, status: status ?? (post ? null : 405), items: null, commands: null };
      }
      return {
        req,
        status:
          status ??
          ((req.body?.length ?? 0) > limit && ['POST', 'PUT'].includes(fetchMethod(method))
            ? 413
            : null),
        items: null,
        commands: s.encode === 'raw' ? null : [s.command],
      };
    }
    case 'odd': {
      const req = baseRequest(s.who, s.shape, s.method, s.path);
      if (s.body !== null) {
        req.body = Buffer.from(s.body, 'utf8');
        req.chunked = s.shape.chunked;
      }
      return { req, status: gate(s.who, s.method, s.path), items: null, commands: null };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Invariants

/** Answers seen, by `kind gateway/access status` (printed with FORKLIFT_FUZZ_STATS=1). */
const seen = new Map<string, number>();

function tally(label: string): void {
  seen.set(label, (seen.get(label) ?? 0) + 1);
}

async function snapshot(): Promise<Snapshot> {
  const info = await db(0).info('keyspace');
  const indexes = [...info.matchAll(/^db(\d+):/gm)].map((m) => Number(m[1]));
  const clients = new Map(indexes.map((i) => [i, db(i)] as const));
  const snap = await takeSnapshot(clients, '*');
  const libraries = (await db(0).call('FUNCTION', 'LIST', 'WITHCODE')) as unknown[];
  snap.extra.set(
    'function libraries',
    JSON.stringify(libraries.map((l) => JSON.stringify(l)).sort()),
  );
  const cached = (await db(0).call('SCRIPT', 'EXISTS', ...LUA.map(sha1))) as number[];
  snap.extra.set('script cache', cached.join(','));
  return snap;
}

const describeAnswer = (req: RawRequest, res: RawResponse) =>
  `${req.method} ${req.path.slice(0, 200)} ${req.headers?.['upstash-encoding'] ?? ''} ` +
  `body ${JSON.stringify(req.body?.subarray(0, 300).toString('utf8') ?? null)}` +
  `${(req.body?.length ?? 0) > 300 ? `…(${req.body?.length} bytes)` : ''} → ${res.status} ${res.text.slice(0, 400)}`;

type Item = { result: unknown } | { error: string };

/** Invariant 1: the answer's shape. */
function checkShape(req: RawRequest, res: RawResponse, where: string): void {
  expect(res.status, `${where}: a 5xx`).toBeLessThan(500);
  expect(res.status, where).toBeGreaterThanOrEqual(200);
  expect(String(res.headers['upstash-sync-token']), `${where}: no upstash-sync-token`).toMatch(
    /^\d+$/,
  );
  if (res.status === 405) expect(res.headers.allow, `${where}: 405 without Allow`).toBeTruthy();
  if (fetchMethod(req.method) === 'HEAD') return;
  expect(String(res.headers['content-type']), where).toBe('application/json');
  expect(res.json, `${where}: not JSON`).toBeDefined();
  const body = res.json as Record<string, unknown>;
  if (res.status !== 200) {
    expect(Object.keys(body), where).toEqual(['error']);
    expect(typeof body.error, where).toBe('string');
    return;
  }
  if (Array.isArray(body)) {
    for (const item of body as Item[]) {
      const keys = Object.keys(item);
      expect(keys.length === 1 && (keys[0] === 'result' || keys[0] === 'error'), where).toBe(true);
      if ('error' in item) expect(typeof item.error, where).toBe('string');
    }
  } else {
    expect(Object.keys(body), where).toEqual(['result']);
  }
}

/** The documented preset: these names (and only Forklift's scripts through the Lua ones). */
const PRESET_COMMANDS = new Set(['EVAL', 'EVALSHA', 'EVAL_RO', 'EVALSHA_RO', 'SCRIPT', 'PING']);

function nameOf(c: readonly Arg[]): string {
  return argText(c[0] ?? '').toUpperCase();
}

function outsidePreset(c: readonly Arg[]): boolean {
  const name = nameOf(c);
  if (name === 'SCRIPT') return !['LOAD', 'EXISTS'].includes(argText(c[1] ?? '').toUpperCase());
  return !PRESET_COMMANDS.has(name);
}

const REFUSAL = /^(NOPERM |ERR |EXECABORT )/;

async function runStep(s: Step): Promise<void> {
  if (s.kind === 'write') return runWrite(s);
  const { req, status, items, commands } = plan(s);
  const before = await snapshot();
  const res = await rawHttp(gateways[s.who.gateway].url, req);
  const after = await snapshot();
  const where = describeAnswer(req, res);
  tally(
    `${s.kind} ${s.who.gateway}/${access(s.who) ?? 'none'} ${res.status}${status === null ? '' : ' (exact)'}`,
  );
  checkShape(req, res, where);
  if (status !== null) expect(res.status, `${where}: expected ${status}`).toBe(status);
  const body = res.json;
  if (items !== null && res.status === 200) {
    expect(Array.isArray(body) && body.length, `${where}: one item per command`).toBe(items);
  }

  // Invariant 3: what must not write.
  const changes = snapshotDiff(before, after);
  const lua = commands?.some((c) => LUA_COMMANDS.has(nameOf(c))) ?? true;
  const who = access(s.who);
  const answers = Array.isArray(body) ? (body as Item[]) : [];
  const reasons: string[] = [];
  if (res.status >= 400 && !(lua && res.status === 400 && s.kind !== 'batch'))
    reasons.push('refused');
  if (res.status === 200 && answers.length > 0 && answers.every((a) => 'error' in a) && !lua) {
    reasons.push('every item failed');
  }
  if (who === 'readonly') reasons.push('a read-only token');
  const reachedPolicy = status === null || status === 200;
  if (s.who.gateway === 'preset' && who !== null && commands !== null && reachedPolicy) {
    const outside = commands.filter(outsidePreset);
    if (outside.length > 0) {
      // The preset refuses these, whatever else the request holds.
      if (s.kind === 'single' || s.kind === 'path') {
        expect(res.status, `${where}: outside the preset`).toBe(400);
        if (fetchMethod(req.method) !== 'HEAD') {
          expect(String((body as { error?: string } | undefined)?.error), where).toMatch(REFUSAL);
        }
      } else if (s.kind === 'batch' && s.route === '/multi-exec') {
        expect(res.status, `${where}: outside the preset`).toBe(400);
        expect(String((body as { error?: string }).error), where).toMatch(/^EXECABORT /);
      } else if (res.status === 200) {
        commands.forEach((c, i) => {
          if (outsidePreset(c))
            expect(answers[i], `${where}: item ${i} outside the preset`).toHaveProperty('error');
        });
      }
    }
    if (!lua) reasons.push('the forklift preset');
  }
  if (reasons.length > 0) {
    expect(changes, `${where}: wrote to Redis although ${reasons.join(', ')}`).toEqual([]);
  }
}

// ---------------------------------------------------------------------------------------------
// Writes read back

let nextKey = 0;

/** The bytes the gateway sends to Redis for a JSON value: `String(v)` as UTF-8. */
function valueBytes(v: Value): Buffer {
  return Buffer.from(String(v), 'utf8');
}

function commandOf(op: WriteStep['op'], k: string, values: readonly Value[]): Value[] {
  return op === 'ECHO' ? ['ECHO', ...values] : [op, k, ...values];
}

/** A reply string decoded as the encoding says. */
function decoded(value: unknown, b64: boolean): Buffer | null {
  if (typeof value !== 'string') return null;
  return b64 ? Buffer.from(value, 'base64') : Buffer.from(value, 'utf8');
}

/** `bytes` as the answer must carry it: exact under base64, else read as UTF-8. */
function same(got: unknown, bytes: Buffer, b64: boolean): boolean {
  const g = decoded(got, b64);
  return g !== null && (b64 ? g.equals(bytes) : g.toString('utf8') === bytes.toString('utf8'));
}

async function runWrite(s: WriteStep): Promise<void> {
  const gw = gateways[s.who.gateway];
  const k = `${P}w:${nextKey++}`;
  const sent = s.values.map(valueBytes);
  if (s.via === 'path-body') sent[sent.length - 1] = Buffer.from(s.raw);
  const args = commandOf(s.op, k, s.values);
  const shape: Shape = {
    chunked: false,
    encoding: s.writeB64 ? 'base64' : 'none',
    contentType: null,
  };
  let req: RawRequest;
  switch (s.via) {
    case 'single':
      req = { ...baseRequest(s.who, shape, 'POST', '/'), body: Buffer.from(toJsonText(args)) };
      break;
    case 'pipeline':
    case 'multi':
      req = {
        ...baseRequest(s.who, shape, 'POST', s.via === 'multi' ? '/multi-exec' : '/pipeline'),
        body: Buffer.from(toJsonText([args])),
      };
      break;
    default: {
      const segments = args.map((a) => percentEncode(valueBytes(a)));
      if (s.via === 'path-body') segments.pop();
      req = baseRequest(s.who, shape, 'POST', `/${segments.join('/')}`);
      if (s.via === 'path-body') req.body = Buffer.from(s.raw);
    }
  }
  const before = await snapshot();
  const res = await rawHttp(gw.url, req);
  const after = await snapshot();
  const where = describeAnswer(req, res);
  tally(`write ${s.op} ${s.via} ${s.who.gateway}/${access(s.who) ?? 'none'} ${res.status}`);
  checkShape(req, res, where);
  const changes = snapshotDiff(before, after);
  const batch = s.via === 'pipeline' || s.via === 'multi';
  const allowed =
    access(s.who) === 'full' && s.who.gateway === 'open'
      ? true
      : access(s.who) === 'readonly' && s.who.gateway === 'open' && s.op === 'ECHO';
  if (access(s.who) === null) {
    expect(res.status, where).toBe(401);
    expect(changes, `${where}: wrote without a token`).toEqual([]);
    return;
  }
  if (!allowed) {
    // Refused for a read-only token (a write) and under the preset (not a Forklift script).
    if (s.via === 'pipeline') {
      expect(res.status, where).toBe(200);
      expect((res.json as Item[])[0], where).toHaveProperty(
        'error',
        expect.stringMatching(/^NOPERM /),
      );
    } else {
      expect(res.status, where).toBe(400);
      expect((res.json as { error: string }).error, where).toMatch(
        s.via === 'multi' ? /^EXECABORT Transaction discarded because of: NOPERM / : /^NOPERM /,
      );
    }
    expect(changes, `${where}: a refused write wrote to Redis`).toEqual([]);
    return;
  }
  expect(res.status, where).toBe(200);
  const result = batch
    ? (((res.json as Item[])[0] ?? {}) as { result?: unknown }).result
    : (res.json as { result: unknown }).result;
  const b64 = s.writeB64;
  // The answer is Redis's, encoded as asked.
  switch (s.op) {
    case 'SET':
      expect(result, where).toBe('OK');
      break;
    case 'HSET': {
      const fields = new Set(sent.filter((_, i) => i % 2 === 0).map((f) => f.toString('hex')));
      expect(result, where).toBe(fields.size);
      break;
    }
    case 'RPUSH':
      expect(result, where).toBe(sent.length);
      break;
    case 'INCRBY':
      // Exact digits, even beyond 2^53: read the raw JSON text.
      expect(res.text, where).toContain(`"result":${BigInt(s.values[0] as string).toString()}`);
      break;
    case 'ECHO':
      expect(same(result, sent[0] as Buffer, b64), `${where}: ECHO answered another value`).toBe(
        true,
      );
      expect(changes, `${where}: ECHO wrote`).toEqual([]);
      return;
  }
  expect(changes.length, `${where}: accepted but wrote nothing`).toBeGreaterThan(0);
  await readBack(s, k, sent, where);
  await db(0).del(k);
}

/** Invariant 4: the write is read back as sent, through the gateway and directly. */
async function readBack(s: WriteStep, k: string, sent: Buffer[], why: string): Promise<void> {
  const gw = gateways.open;
  const read: string[] =
    s.op === 'SET' || s.op === 'INCRBY'
      ? ['GET', k]
      : s.op === 'HSET'
        ? ['HGETALL', k]
        : ['LRANGE', k, '0', '-1'];
  const b64 = s.readB64;
  const headers: Record<string, string> = { authorization: `Bearer ${gw.token}` };
  if (b64) headers['upstash-encoding'] = 'base64';
  const req: RawRequest =
    s.readVia === 'single'
      ? { method: 'POST', path: '/', headers, body: Buffer.from(JSON.stringify(read)) }
      : {
          method: 'GET',
          path: `/${read.map((a) => percentEncode(Buffer.from(a))).join('/')}`,
          headers,
        };
  const res = await rawHttp(gw.url, req);
  const where = `${why}; read back: ${describeAnswer(req, res)}`;
  expect(res.status, where).toBe(200);
  const result = (res.json as { result: unknown }).result;
  const conn = db(0);
  switch (s.op) {
    case 'SET':
    case 'INCRBY': {
      const bytes =
        s.op === 'SET'
          ? (sent[0] as Buffer)
          : Buffer.from(BigInt(s.values[0] as string).toString());
      expect(same(result, bytes, b64), where).toBe(true);
      expect((await conn.getBuffer(k))?.equals(bytes), `${where}: direct GET`).toBe(true);
      break;
    }
    case 'HSET': {
      const want = new Map<string, Buffer>();
      for (let i = 0; i + 1 < sent.length; i += 2)
        want.set((sent[i] as Buffer).toString('hex'), sent[i + 1] as Buffer);
      const flat = result as unknown[];
      expect(flat.length, where).toBe(want.size * 2);
      const got = new Map<string, unknown>();
      for (let i = 0; i + 1 < flat.length; i += 2) {
        got.set(
          (decoded(flat[i], b64) ?? Buffer.alloc(0)).toString(b64 ? 'hex' : 'utf8'),
          flat[i + 1],
        );
      }
      for (const [field, value] of want) {
        const name = b64 ? field : Buffer.from(field, 'hex').toString('utf8');
        expect(same(got.get(name), value, b64), `${where}: field ${JSON.stringify(name)}`).toBe(
          true,
        );
        expect(
          (await conn.hgetBuffer(k, Buffer.from(field, 'hex')))?.equals(value),
          `${where}: direct HGET`,
        ).toBe(true);
      }
      break;
    }
    case 'RPUSH': {
      const list = result as unknown[];
      expect(list.length, where).toBe(sent.length);
      sent.forEach((bytes, i) => {
        expect(same(list[i], bytes, b64), `${where}: item ${i}`).toBe(true);
      });
      const direct = await conn.lrangeBuffer(k, 0, -1);
      expect(
        direct.map((b) => b.toString('hex')),
        `${where}: direct LRANGE`,
      ).toEqual(sent.map((b) => b.toString('hex')));
      break;
    }
    case 'ECHO':
      break;
  }
}

// ---------------------------------------------------------------------------------------------

const fullToken = (gateway: GatewayName): Who => ({
  gateway,
  token: 'full',
  via: 'header',
  style: 'Bearer',
  garbled: '',
});
const plainShape: Shape = { chunked: false, encoding: 'none', contentType: null };

/** Counterexamples the fuzzer found (fixed since), run first every time. */
const EXAMPLES: [Step[]][] = [
  // The HTTP adapter refused these with an empty 400: no JSON body, no upstash-sync-token.
  [
    [
      {
        kind: 'odd',
        who: fullToken('open'),
        shape: plainShape,
        method: 'GET',
        path: '/\\',
        body: null,
      },
    ],
  ],
  [
    [
      {
        kind: 'odd',
        who: fullToken('preset'),
        shape: plainShape,
        method: 'FOO',
        path: '/',
        body: null,
      },
    ],
  ],
];

/** Sends `text` on a new connection; resolves to everything the server sent before closing. */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.setTimeout(5_000, () => socket.destroy());
  });
}

describe('gateway protocol fuzz', () => {
  it(
    `answers every generated request as documented (${RUNS} runs)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), async (steps) => {
          // Keep the key space small enough to snapshot around every request.
          if ((await db(0).dbsize()) > 300) await db(0).flushall();
          for (const s of steps) await runStep(s);
        }),
        fuzzParameters(RUNS, TIMEOUT_MS, EXAMPLES),
      );
    },
    TIMEOUT_MS,
  );

  it('answers requests the HTTP layer refuses with JSON and a sync token (was an empty 400)', async () => {
    const { port } = gateways.open;
    const cases: [string, number, RegExp][] = [
      [
        'GET /get/a\\b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        400,
        /^ERR malformed request: Backslash/,
      ],
      ['GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, /^ERR malformed request: /],
      [
        'GET /ping HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n',
        400,
        /^ERR malformed request: /,
      ],
      [
        'GET /ping HTTP/1.1\r\nConnection: close\r\n\r\n',
        400,
        /^ERR malformed request: Missing host header/,
      ],
      [
        'FOO / HTTP/1.1\r\nHost: x\r\n\r\n',
        400,
        /^ERR malformed HTTP request \(HPE_INVALID_METHOD\)/,
      ],
      ['GET /ping HTTP/1.1\r\nBad Header\r\n\r\n', 400, /^ERR malformed HTTP request /],
      [
        `GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        431,
        /^ERR malformed HTTP request \(HPE_HEADER_OVERFLOW\)/,
      ],
    ];
    for (const [request, status, error] of cases) {
      const answer = await rawExchange(port, request);
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      const what = `${JSON.stringify(request.slice(0, 40))} → ${JSON.stringify(answer.slice(0, 300))}`;
      expect(head.split('\r\n')[0], what).toBe(`HTTP/1.1 ${status} ${STATUS_CODES[status]}`);
      expect(head, what).toMatch(/^content-type: application\/json$/im);
      expect(head, what).toMatch(/^upstash-sync-token: \d+$/im);
      expect(JSON.parse(body), what).toEqual({ error: expect.stringMatching(error) });
    }
    // The server still serves.
    expect(
      await rawHttp(gateways.open.url, {
        method: 'GET',
        path: '/ping',
        headers: { authorization: `Bearer ${gateways.open.token}` },
      }),
    ).toMatchObject({ status: 200, json: { result: 'PONG' } });
  });
});
