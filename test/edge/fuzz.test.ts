/**
 * Property-based fuzzing of the edge API (fast-check): the real Worker bundle in workerd, behind
 * it the real gateway (`forklift` preset) and Redis, requests sent as raw HTTP/1.1 to workerd's
 * own socket. Each run resets the file's namespace, sends a sequence of 1-8 generated requests
 * and keeps a model of the tasks it enqueued and canceled.
 *
 * Generated: methods (usual, WebDAV, lower-case and made-up tokens), paths (every route, task
 * ids known to the run, unknown, malformed or percent-encoded, dot segments, doubled or trailing
 * slashes, wrong case, query strings, unknown routes), Authorization (valid, case and spacing
 * variants, the second configured token, absent, garbled), Content-Type, Content-Encoding and
 * other headers, Content-Length or chunked bodies, and bodies: valid tasks and batches, tasks
 * with one field replaced by any JSON (huge numbers, `1e400`, lone surrogates, NUL, wrong types,
 * nesting), unknown and duplicate fields, batches of 0, 1000 and 1001 tasks, broken JSON, raw
 * invalid UTF-8, nesting 20 000 deep, bodies one byte under and over the size limit.
 *
 * Checked for every request:
 * 1. no 5xx (workerd's own 501 for a method token it does not know, which never reaches the
 *    Worker, excepted); every answer is JSON, an error `{ error: { code, message } }` with the
 *    code of its status;
 * 2. a complete HTTP answer, never a dropped or cut connection;
 * 3. a request that is not an accepted write (any non-2xx, and every GET or HEAD) changes no key
 *    of the namespace (SCAN, then TYPE, value and PTTL of each key, before and after);
 * 4. an accepted enqueue or batch (202) answers ids that `GET /v1/tasks/{id}` returns with the
 *    type, payload, priority and policy sent, in the state the model expects; duplicates (by
 *    idempotency key) answer the first task's id; a cancel (200) is seen by the next read;
 *    `GET /v1/stats` and the task records in Redis match the model at the end of every run;
 * and for requests that are well-formed by construction, the exact answer (202, 200, 401, 404,
 * 413) the docs promise.
 *
 * Settings: FORKLIFT_FUZZ_RUNS (default 150 runs) and FORKLIFT_FUZZ_SEED (a fixed default, or
 * `random`); on failure fast-check prints the seed, the path and the shrunk counterexample.
 * A longer run:   FORKLIFT_FUZZ_RUNS=5000 npx vitest run test/edge/fuzz.test.ts
 * Replay a seed:  FORKLIFT_FUZZ_SEED=<seed> npx vitest run test/edge/fuzz.test.ts
 * What it hit:    FORKLIFT_FUZZ_STATS=1 prints the answers seen (route, method or token, status).
 */
import * as fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../edge/errors.js';
import { DEFAULT_POLICY, LIMITS } from '../../shared/defaults.js';
import { wellFormedProblem } from '../../shared/enqueue-request.js';
import { tasks as registry } from '../../shared/tasks/index.js';
import { SQUARE_MAX_ABS_X } from '../../shared/tasks/square.js';
import { edgeBindings, startTestEdge, TEST_API_TOKEN, type TestEdge } from '../support/edge.js';
import {
  brokenJsonText,
  CONTENT_TYPES,
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
  type RawRequest,
  type RawResponse,
  rawHttp,
  type Snapshot,
  safeTarget,
  snapshotDiff,
  takeSnapshot,
  toJsonText,
} from '../support/fuzz.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deleteNamespace, testNamespace, testRedis } from '../support/redis.js';

const RUNS = fuzzRuns(150);
const TIMEOUT_MS = fuzzTimeoutMs(RUNS, 150);

/** Small enough that the fuzzer reaches it cheaply (the default is 1 MiB). */
const MAX_REQUEST_BYTES = 64 * 1024;
const OTHER_TOKEN = 'other-token-abcdefghijklmnop';
const POLICY = { ...DEFAULT_POLICY, ...registry.square.policy };

const namespace = testNamespace('edge-fuzz');
let gateway: TestGateway;
let edge: TestEdge;
let redis: Redis;
let dbs: Map<number, Redis>;

beforeAll(async () => {
  redis = testRedis();
  dbs = new Map([[0, redis]]);
  gateway = await startTestGateway({ allow: 'forklift' });
  edge = await startTestEdge({
    bindings: edgeBindings(gateway, {
      namespace,
      extra: { FORKLIFT_MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES) },
    }),
  });
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
  await edge?.dispose();
  await gateway?.close();
  if (redis) {
    await deleteNamespace(redis, namespace);
    redis.disconnect();
  }
});

// ---------------------------------------------------------------------------------------------
// Generators

type Route = 'enqueue' | 'batch' | 'task' | 'stats' | 'health' | 'openapi' | 'other';

/** A path segment: literal text, a task id of this run (`ref` modulo their number), or a new id. */
type Segment = { text: string } | { ref: number } | { fresh: true };

interface PathSpec {
  route: Route;
  segments: Segment[];
  /** How the path is bent: anything but `none` makes the route uncertain. */
  bend: 'none' | 'trailing-slash' | 'double-slash' | 'dot' | 'upper' | 'encoded-letter';
  query: string;
}

type BodySpec =
  /** JSON; `valid` when it is a well-formed request for its route by construction. */
  | { kind: 'json'; value: JsonLike; valid: boolean }
  /** Text that is not JSON (`broken`) or anything else. */
  | { kind: 'text'; text: string; broken: boolean }
  /** A valid task whose idempotency key carries raw bytes (often invalid UTF-8). */
  | { kind: 'bytes'; bytes: number[] }
  | {
      kind: 'deep';
      depth: number;
      shape: 'array' | 'object';
      where: 'top' | 'payload' | 'x' | 'tasks';
    }
  /** Valid JSON padded with spaces to `limit + delta` bytes. */
  | { kind: 'sized'; value: JsonLike; delta: number; valid: boolean }
  /** 1000 or 1001 small valid tasks. */
  | { kind: 'many'; count: number };

interface Step {
  method: string;
  path: PathSpec;
  /** `null`: no Authorization header. */
  authorization: string | null;
  authValid: boolean;
  headers: [string, string][];
  body: BodySpec | null;
  chunked: boolean;
}

const validPayload = fc.record(
  {
    x: fc.oneof(
      fc.integer({ min: -SQUARE_MAX_ABS_X, max: SQUARE_MAX_ABS_X }),
      fc.constantFrom(SQUARE_MAX_ABS_X, -SQUARE_MAX_ABS_X, 0, -0),
    ),
    delayMs: fc.integer({ min: 0, max: 600_000 }),
  },
  { requiredKeys: ['x'] },
);

/** Idempotency keys: a small pool (so duplicates happen), nasty well-formed text, long ones. */
const idempotencyKey = fc.oneof(
  { arbitrary: fc.constantFrom('k1', 'k2', 'k3'), weight: 3 },
  {
    arbitrary: nastyString(40).filter((s) => s.length > 0 && wellFormedProblem(s) === null),
    weight: 2,
  },
  { arbitrary: fc.constant('k'.repeat(LIMITS.idempotencyKeyLength)), weight: 1 },
);

const validTask = fc.record(
  {
    type: fc.constant('square'),
    payload: validPayload,
    priority: fc.constantFrom('high', 'normal', 'low'),
    delaySeconds: fc.oneof(
      fc.constantFrom(0, -0, 1e-7, 0.0004, 0.0005, 1, LIMITS.delayMs / 1000),
      fc.double({ min: 0, max: LIMITS.delayMs / 1000, noNaN: true }),
    ),
    idempotencyKey,
    maxAttempts: fc.integer({ min: 1, max: LIMITS.maxAttempts }),
    maxStalls: fc.integer({ min: 0, max: LIMITS.maxStalls }),
    timeoutMs: fc.integer({ min: 1, max: LIMITS.timeoutMs }),
  },
  { requiredKeys: ['type', 'payload'] },
);

const FIELDS = [
  'type',
  'payload',
  'priority',
  'delaySeconds',
  'idempotencyKey',
  'maxAttempts',
  'maxStalls',
  'timeoutMs',
];

/** A valid task with one field set to anything, removed, duplicated, or an unknown field added. */
const mutatedTask: fc.Arbitrary<JsonLike> = fc
  .tuple(
    validTask,
    fc.constantFrom('set', 'delete', 'duplicate', 'nested'),
    fc.constantFrom(...FIELDS, 'unknown', '__proto__', ''),
    nastyJson(2),
  )
  .map(([task, op, field, value]) => {
    const entries: [string, JsonLike][] = Object.entries(task);
    switch (op) {
      case 'delete':
        return new JsonEntries(entries.filter(([k]) => k !== field));
      case 'duplicate':
        return new JsonEntries([...entries, [field, value]]);
      case 'nested': {
        const payload = new JsonEntries([...Object.entries(task.payload), [field || 'x', value]]);
        return new JsonEntries([...entries.filter(([k]) => k !== 'payload'), ['payload', payload]]);
      }
      default:
        return new JsonEntries([...entries.filter(([k]) => k !== field), [field, value]]);
    }
  });

const validBatch = fc
  .array(validTask, { minLength: 1, maxLength: 5 })
  .map((list) => ({ tasks: list }));

const anyBatch: fc.Arbitrary<JsonLike> = fc.oneof(
  fc
    .array(fc.oneof({ arbitrary: validTask, weight: 3 }, { arbitrary: mutatedTask, weight: 1 }), {
      minLength: 1,
      maxLength: 5,
    })
    .map((list) => ({ tasks: list })),
  fc.constant({ tasks: [] }),
  nastyJson(2).map((value) => ({ tasks: value })),
  fc.tuple(validBatch, nastyString(8), nastyJson(1)).map(
    ([batch, key, value]) =>
      new JsonEntries([
        ['tasks', batch.tasks],
        [key, value],
      ]),
  ),
);

function bodyFor(route: Route): fc.Arbitrary<BodySpec | null> {
  const valid =
    route === 'batch'
      ? validBatch.map((value): BodySpec => ({ kind: 'json', value, valid: true }))
      : validTask.map((value): BodySpec => ({ kind: 'json', value, valid: true }));
  const invalid =
    route === 'batch'
      ? anyBatch.map((value): BodySpec => ({ kind: 'json', value, valid: false }))
      : mutatedTask.map((value): BodySpec => ({ kind: 'json', value, valid: false }));
  const validText = (route === 'batch' ? validBatch : validTask).map((v) => toJsonText(v));
  const choices: fc.WeightedArbitrary<BodySpec | null>[] = [
    { arbitrary: valid, weight: 6 },
    { arbitrary: invalid, weight: 5 },
    {
      arbitrary: nastyJson(3).map((value): BodySpec => ({ kind: 'json', value, valid: false })),
      weight: 2,
    },
    {
      arbitrary: brokenJsonText(validText).map(
        (text): BodySpec => ({ kind: 'text', text, broken: true }),
      ),
      weight: 2,
    },
    {
      arbitrary: fc
        .array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 })
        .map((bytes): BodySpec => ({ kind: 'bytes', bytes })),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('deep' as const),
        depth: fc.constantFrom(1, 64, 1000, 20_000),
        shape: fc.constantFrom('array' as const, 'object' as const),
        where: fc.constantFrom('top' as const, 'payload' as const, 'x' as const, 'tasks' as const),
      }),
      weight: 1,
    },
    {
      arbitrary: fc
        .tuple(route === 'batch' ? validBatch : validTask, fc.constantFrom(-1, 0, 1, 1000))
        .map(([value, delta]): BodySpec => ({ kind: 'sized', value, delta, valid: true })),
      weight: 1,
    },
    { arbitrary: fc.constant(null), weight: 1 },
  ];
  if (route === 'batch') {
    choices.push({
      arbitrary: fc.constantFrom(1000, 1001).map((count): BodySpec => ({ kind: 'many', count })),
      weight: 1,
    });
  }
  return fc.oneof(...choices);
}

/** Task ids: known to the run (mostly), new, valid-looking, or any text. */
const taskIdSegment: fc.Arbitrary<Segment> = fc.oneof(
  { arbitrary: fc.nat({ max: 50 }).map((ref): Segment => ({ ref })), weight: 5 },
  { arbitrary: fc.constant<Segment>({ fresh: true }), weight: 2 },
  {
    arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,130}$/).map((text): Segment => ({ text })),
    weight: 1,
  },
  {
    arbitrary: fc
      .tuple(nastyString(140), fc.boolean())
      .map(([text, all]): Segment => ({ text: percentEncode(Buffer.from(text, 'utf8'), all) })),
    weight: 2,
  },
  { arbitrary: nastyString(20).map((text): Segment => ({ text: safeTarget(text) })), weight: 1 },
);

const words = (...parts: string[]): Segment[] => parts.map((text) => ({ text }));

const unknownPath: fc.Arbitrary<Segment[]> = fc.oneof(
  fc.constantFrom(
    [],
    words('v1'),
    words('v2', 'tasks'),
    words('v1', 'task'),
    words('v1', 'tasks', 'batch', 'x'),
    words('v1', 'tasks', 'a', 'b'),
    words('v1', 'stats', 'x'),
    words('healthz', 'x'),
    words('openapi'),
    words('v1', 'openapi.json'),
  ),
  fc
    .array(nastyString(12), { minLength: 1, maxLength: 4 })
    .map((parts) => parts.map((text): Segment => ({ text: safeTarget(text) }))),
  fc
    .array(nastyString(12), { maxLength: 3 })
    .map((parts) => words('v1', ...parts.map((text) => safeTarget(text)))),
);

const pathSpec: fc.Arbitrary<PathSpec> = fc
  .tuple(
    fc.oneof(
      {
        arbitrary: fc.constant({ route: 'enqueue' as Route, segments: words('v1', 'tasks') }),
        weight: 8,
      },
      {
        arbitrary: fc.constant({
          route: 'batch' as Route,
          segments: words('v1', 'tasks', 'batch'),
        }),
        weight: 5,
      },
      {
        arbitrary: taskIdSegment.map((id) => ({
          route: 'task' as Route,
          segments: [...words('v1', 'tasks'), id],
        })),
        weight: 6,
      },
      {
        arbitrary: fc.constant({ route: 'stats' as Route, segments: words('v1', 'stats') }),
        weight: 2,
      },
      {
        arbitrary: fc.constant({ route: 'health' as Route, segments: words('healthz') }),
        weight: 1,
      },
      {
        arbitrary: fc.constant({ route: 'openapi' as Route, segments: words('openapi.json') }),
        weight: 1,
      },
      {
        arbitrary: unknownPath.map((segments) => ({ route: 'other' as Route, segments })),
        weight: 2,
      },
    ),
    fc.oneof(
      { arbitrary: fc.constant('none' as const), weight: 12 },
      {
        arbitrary: fc.constantFrom(
          'trailing-slash' as const,
          'double-slash' as const,
          'dot' as const,
          'upper' as const,
          'encoded-letter' as const,
        ),
        weight: 2,
      },
    ),
    fc.oneof(
      { arbitrary: fc.constant(''), weight: 8 },
      { arbitrary: nastyString(16).map(safeTarget), weight: 1 },
      {
        arbitrary: fc.constantFrom('x=1', 'x=%zz', 'id=..', '_token=abc', '&&=', 'a=%00'),
        weight: 1,
      },
    ),
  )
  .map(([{ route, segments }, bend, query]) => ({ route, segments, bend, query }));

const ROUTE_METHODS: Record<Route, string> = {
  enqueue: 'POST',
  batch: 'POST',
  task: 'GET',
  stats: 'GET',
  health: 'GET',
  openapi: 'GET',
  other: 'GET',
};

/** Authorization values, with whether they carry a configured token (the documented rule). */
const authorization: fc.Arbitrary<{ header: string | null; valid: boolean }> = fc.oneof(
  { arbitrary: fc.constant({ header: `Bearer ${TEST_API_TOKEN}`, valid: true }), weight: 14 },
  {
    arbitrary: fc.constantFrom(
      { header: `bearer ${TEST_API_TOKEN}`, valid: true },
      { header: `BEARER    ${TEST_API_TOKEN}   `, valid: true },
      { header: `  Bearer ${TEST_API_TOKEN}\t`, valid: true },
      { header: `Bearer ${OTHER_TOKEN}`, valid: true },
      { header: null, valid: false },
      { header: '', valid: false },
      { header: 'Bearer', valid: false },
      { header: 'Bearer ', valid: false },
      { header: `Basic ${TEST_API_TOKEN}`, valid: false },
      { header: `Bearer ${TEST_API_TOKEN}x`, valid: false },
      { header: `Bearer ${TEST_API_TOKEN.slice(0, -1)}`, valid: false },
      { header: `Bearer ${TEST_API_TOKEN.toUpperCase()}`, valid: false },
      { header: `Bearer ${TEST_API_TOKEN} ${TEST_API_TOKEN}`, valid: false },
      { header: `Bearer\t${TEST_API_TOKEN}`, valid: false },
      { header: `Bearer ${TEST_API_TOKEN},${OTHER_TOKEN}`, valid: false },
      { header: TEST_API_TOKEN, valid: false },
      { header: `Bearer ${TEST_API_TOKEN}\u00e9`, valid: false },
    ),
    weight: 4,
  },
  { arbitrary: headerValue.map((header) => ({ header, valid: false })), weight: 1 },
);

const extraHeaders: fc.Arbitrary<[string, string][]> = fc
  .tuple(
    maybe(fc.constantFrom(...CONTENT_TYPES), 60),
    maybe(fc.constantFrom('gzip', 'br', 'deflate', 'identity', 'x-garbage'), 10),
    maybe(
      fc.constantFrom<[string, string]>(
        ['accept', 'text/html'],
        ['accept-encoding', 'gzip, br'],
        ['x-forwarded-for', '203.0.113.7'],
        ['cookie', 'a=b'],
        ['host', 'other.example'],
        ['content-language', 'fr'],
        ['upstash-encoding', 'base64'],
        ['x-http-method-override', 'DELETE'],
        ['range', 'bytes=0-1'],
      ),
      20,
    ),
  )
  .map(([type, encoding, extra]) => [
    ...(type === null ? [] : [['content-type', type] as [string, string]]),
    ...(encoding === null ? [] : [['content-encoding', encoding] as [string, string]]),
    ...(extra === null ? [] : [extra]),
  ]);

const step: fc.Arbitrary<Step> = pathSpec.chain((path) =>
  fc
    .record({
      method: fc.oneof(
        { arbitrary: fc.constant(ROUTE_METHODS[path.route]), weight: 10 },
        {
          arbitrary: fc.constant(path.route === 'task' ? 'DELETE' : ROUTE_METHODS[path.route]),
          weight: 5,
        },
        { arbitrary: fc.constantFrom(...METHODS), weight: 2 },
      ),
      path: fc.constant(path),
      auth: authorization,
      headers: extraHeaders,
      body: bodyFor(path.route),
      chunked: fc.boolean(),
    })
    .map(({ auth, ...rest }) => ({
      ...rest,
      authorization: auth.header,
      authValid: auth.valid,
    })),
);

// ---------------------------------------------------------------------------------------------
// Requests

function jsonBytes(value: JsonLike): Buffer {
  return Buffer.from(toJsonText(value), 'utf8');
}

function smallTask(i: number) {
  return { type: 'square', payload: { x: i } };
}

function bodyBytes(spec: BodySpec): Buffer {
  switch (spec.kind) {
    case 'json':
      return jsonBytes(spec.value);
    case 'text':
      return Buffer.from(spec.text, 'utf8');
    case 'bytes':
      return Buffer.concat([
        Buffer.from('{"type":"square","payload":{"x":1},"idempotencyKey":"b'),
        Buffer.from(spec.bytes.filter((b) => b !== 0x22 && b !== 0x5c && b >= 0x20)),
        Buffer.from('"}'),
      ]);
    case 'deep': {
      const nested = deeplyNested(spec.depth, spec.shape);
      const text = {
        top: nested,
        payload: `{"type":"square","payload":${nested}}`,
        x: `{"type":"square","payload":{"x":${nested}}}`,
        tasks: `{"tasks":[${nested}]}`,
      }[spec.where];
      return Buffer.from(text, 'utf8');
    }
    case 'sized': {
      const json = jsonBytes(spec.value);
      const pad = Math.max(0, MAX_REQUEST_BYTES + spec.delta - json.length);
      return Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
    }
    case 'many':
      return jsonBytes({ tasks: Array.from({ length: spec.count }, (_, i) => smallTask(i)) });
  }
}

/** Whether the body is a valid request for its route, by construction. */
function bodyValid(spec: BodySpec | null): boolean {
  if (spec === null) return false;
  if (spec.kind === 'json' || spec.kind === 'sized') return spec.valid;
  return spec.kind === 'many' && spec.count <= LIMITS.batchSize;
}

/** Per-run state: what the run enqueued and canceled, as the API must report it. */
interface ModelTask {
  id: string;
  type: string;
  payloadJson: string;
  priority: string;
  maxAttempts: number;
  maxStalls: number;
  timeoutMs: number;
  state: 'queued' | 'delayed' | 'canceled';
}

interface Model {
  ids: string[];
  tasks: Map<string, ModelTask>;
  idempotency: Map<string, string>;
  canceled: number;
}

function freshId(): string {
  return `fz-${crypto.randomUUID()}`;
}

function renderSegment(segment: Segment, model: Model): string {
  if ('text' in segment) return segment.text;
  if ('fresh' in segment || model.ids.length === 0) return freshId();
  return model.ids[segment.ref % model.ids.length] as string;
}

function renderPath(spec: PathSpec, model: Model): string {
  const parts = spec.segments.map((s) => renderSegment(s, model));
  let path = `/${parts.join('/')}`;
  switch (spec.bend) {
    case 'trailing-slash':
      path += '/';
      break;
    case 'double-slash':
      path = path.replace('/', '//');
      break;
    case 'dot':
      path = path.replace('/', '/./x/../');
      break;
    case 'upper':
      path = path.toUpperCase();
      break;
    case 'encoded-letter':
      path = path.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`);
      break;
  }
  return spec.query === '' ? path : `${path}?${spec.query}`;
}

function toRequest(s: Step, model: Model): RawRequest {
  const headers: Record<string, string> = {};
  if (s.authorization !== null) headers.authorization = s.authorization;
  for (const [name, value] of s.headers) headers[name] = value;
  return {
    method: s.method,
    path: renderPath(s.path, model),
    headers,
    ...(s.body === null ? {} : { body: bodyBytes(s.body), chunked: s.chunked }),
  };
}

const snapshot = (): Promise<Snapshot> => takeSnapshot(dbs, `${namespace}:*`);

const clean = (path: string, method = 'GET'): RawRequest => ({
  method,
  path,
  headers: { authorization: `Bearer ${TEST_API_TOKEN}` },
});

const describeAnswer = (req: RawRequest, res: RawResponse) =>
  `${req.method} ${req.path.slice(0, 160)} (${req.body?.length ?? 0} body bytes) → ` +
  `${res.status} ${res.text.slice(0, 400)}`;

// ---------------------------------------------------------------------------------------------
// Invariants

const CODE_OF_STATUS: Record<number, readonly string[]> = {
  400: ['invalid_json', 'invalid_request'],
  401: ['unauthorized'],
  404: ['not_found'],
  409: ['conflict'],
  413: ['payload_too_large'],
};

/** Invariant 1: no 5xx, a JSON answer, errors in the API's one shape. */
function checkShape(req: RawRequest, res: RawResponse): void {
  const where = describeAnswer(req, res);
  if (MADE_UP_METHODS.has(req.method) && res.status === 501) {
    // workerd's HTTP server refuses a method token it does not know before the Worker runs.
    expect(res.text, where).toContain('Unrecognized request method');
    return;
  }
  expect(res.status, where).toBeLessThan(500);
  expect(res.status, where).toBeGreaterThanOrEqual(200);
  if (fetchMethod(req.method) === 'HEAD') return;
  expect(String(res.headers['content-type']), where).toMatch(/^application\/json/);
  expect(res.json, where).toBeDefined();
  if (res.status >= 300) {
    const error = (res.json as { error?: { code?: unknown; message?: unknown } }).error;
    expect(ERROR_CODES, where).toContain(error?.code);
    expect(typeof error?.message, where).toBe('string');
    expect(CODE_OF_STATUS[res.status] ?? ['invalid_request'], where).toContain(error?.code);
  }
  if (res.status === 401) {
    expect(res.headers['www-authenticate'], where).toBe('Bearer realm="forklift"');
  }
}

interface TaskResult {
  id: string;
  state: string;
  duplicate: boolean;
}

/** The tasks of an accepted enqueue as the Worker read them (its UTF-8 decoding of the body). */
function sentTasks(body: Buffer, batch: boolean): Record<string, unknown>[] {
  const parsed = JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;
  return batch ? (parsed.tasks as Record<string, unknown>[]) : [parsed];
}

/** Invariant 4, first half: the answer of an accepted enqueue agrees with the model. */
function recordEnqueue(
  model: Model,
  sent: Record<string, unknown>[],
  results: TaskResult[],
  where: string,
): ModelTask[] {
  expect(results.length, where).toBe(sent.length);
  const created: ModelTask[] = [];
  sent.forEach((task, i) => {
    const result = results[i] as TaskResult;
    const key = task.idempotencyKey as string | undefined;
    const earlier = key === undefined ? undefined : model.idempotency.get(key);
    if (earlier !== undefined) {
      const first = model.tasks.get(earlier);
      expect(result, `${where}: task ${i} repeats idempotency key ${JSON.stringify(key)}`).toEqual({
        id: earlier,
        state: first?.state,
        duplicate: true,
      });
      return;
    }
    expect(model.tasks.has(result.id), `${where}: task ${i} got a known id`).toBe(false);
    const delayMs = Math.round(((task.delaySeconds as number | undefined) ?? 0) * 1000);
    const entry: ModelTask = {
      id: result.id,
      type: task.type as string,
      payloadJson: JSON.stringify(task.payload),
      priority: (task.priority as string | undefined) ?? 'normal',
      maxAttempts: (task.maxAttempts as number | undefined) ?? POLICY.maxAttempts,
      maxStalls: (task.maxStalls as number | undefined) ?? POLICY.maxStalls,
      timeoutMs: (task.timeoutMs as number | undefined) ?? POLICY.timeoutMs,
      state: delayMs > 0 ? 'delayed' : 'queued',
    };
    expect(result, `${where}: task ${i}`).toEqual({
      id: entry.id,
      state: entry.state,
      duplicate: false,
    });
    model.tasks.set(entry.id, entry);
    model.ids.push(entry.id);
    if (key !== undefined) model.idempotency.set(key, entry.id);
    created.push(entry);
  });
  return created;
}

/** Invariant 4, second half: `GET /v1/tasks/{id}` returns the task as the model has it. */
async function readBack(task: ModelTask, why: string): Promise<void> {
  const req = clean(`/v1/tasks/${task.id}`);
  const res = await rawHttp(edge.url, req);
  const where = `${why}; read back: ${describeAnswer(req, res)}`;
  expect(res.status, where).toBe(200);
  const view = res.json as Record<string, unknown>;
  expect(
    {
      id: view.id,
      type: view.type,
      payloadJson: JSON.stringify(view.payload),
      priority: view.priority,
      maxAttempts: view.maxAttempts,
      maxStalls: view.maxStalls,
      timeoutMs: view.timeoutMs,
      state: view.state,
    },
    where,
  ).toEqual(task);
  expect(view.attempts, where).toBe(0);
  if (task.state === 'queued') expect(view.runAt, where).toBeNull();
  if (task.state === 'delayed') expect(typeof view.runAt, where).toBe('string');
}

function expectedStats(model: Model) {
  const count = (state: string, priority?: string) =>
    [...model.tasks.values()].filter(
      (t) => t.state === state && (priority === undefined || t.priority === priority),
    ).length;
  return {
    queue: 'default',
    lanes: {
      high: count('queued', 'high'),
      normal: count('queued', 'normal'),
      low: count('queued', 'low'),
    },
    delayed: count('delayed'),
    active: 0,
    succeeded: 0,
    failed: 0,
    dead: 0,
    canceled: model.canceled,
  };
}

/** Whether a path segment stays one segment of the same path once the URL is parsed. */
function staysInPlace(segment: string): boolean {
  if (/[/?#\\]/.test(segment)) return false;
  let decoded = segment;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // Not percent-encoding: kept as it is.
  }
  return decoded !== '.' && decoded !== '..';
}

/** The exact answer the docs promise for a request that is well-formed by construction. */
function expectedStatus(s: Step, req: RawRequest, model: Model): number | null {
  const { route, bend, segments } = s.path;
  const method = fetchMethod(s.method);
  if (bend !== 'none' || route === 'other' || MADE_UP_METHODS.has(method)) return null;
  // A segment of any text may move the request elsewhere (`..`, `%2e%2e`, `/`, `?`, `#`).
  if (segments.some((seg) => 'text' in seg && !staysInPlace(seg.text))) return null;
  if (s.headers.some(([name, value]) => name === 'content-encoding' && value !== 'identity')) {
    return null;
  }
  if (route === 'health' || route === 'openapi') return method === 'GET' ? 200 : null;
  if (!s.authValid) return 401;
  const size = req.body?.length ?? 0;
  // Every /v1 request but a GET or HEAD has its body counted before the route runs.
  if (size > MAX_REQUEST_BYTES && method !== 'GET' && method !== 'HEAD') return 413;
  if (route === 'stats') return method === 'GET' ? 200 : null;
  if (route === 'task') {
    const last = segments[segments.length - 1] as Segment;
    if ('text' in last || (method !== 'GET' && method !== 'DELETE')) return null;
    return 'ref' in last && model.ids.length > 0 ? 200 : 404;
  }
  if (method !== 'POST') return null;
  if (s.body?.kind === 'many' && s.body.count > LIMITS.batchSize) return 400;
  if (s.body?.kind === 'text' && s.body.broken) {
    try {
      JSON.parse(s.body.text);
    } catch {
      return 400;
    }
  }
  return bodyValid(s.body) ? 202 : null;
}

/** Answers seen, by `route method status` (printed with FORKLIFT_FUZZ_STATS=1). */
const seen = new Map<string, number>();

async function runStep(s: Step, model: Model): Promise<void> {
  const req = toRequest(s, model);
  const expected = expectedStatus(s, req, model);
  const before = await snapshot();
  const res = await rawHttp(edge.url, req);
  const method = fetchMethod(req.method);
  const tally = `${s.path.route} ${req.method} ${res.status}${expected === null ? '' : ' (exact)'}`;
  seen.set(tally, (seen.get(tally) ?? 0) + 1);
  const after = await snapshot();
  const where = describeAnswer(req, res);
  checkShape(req, res);
  if (expected !== null) expect(res.status, `${where}: expected ${expected}`).toBe(expected);

  const body = res.json as Record<string, unknown> | undefined;
  const changes = snapshotDiff(before, after);
  const enqueued = res.status === 202 && method === 'POST' && body !== undefined;
  const canceled =
    res.status === 200 && method === 'DELETE' && body !== undefined && body.state === 'canceled';
  if (!enqueued && !canceled) {
    // Invariant 3: a rejected request, or a read, writes nothing.
    expect(changes, `${where}: wrote to Redis`).toEqual([]);
    if (res.status === 200 && body !== undefined && 'lanes' in body) {
      expect(body, `${where}: stats disagree with the model`).toEqual(expectedStats(model));
    }
    if (res.status === 200 && method === 'GET' && body !== undefined && 'payload' in body) {
      const known = model.tasks.get(body.id as string);
      expect(known, `${where}: a task this run never enqueued`).toBeDefined();
      expect(body.state, where).toBe(known?.state);
      expect(JSON.stringify(body.payload), where).toBe(known?.payloadJson);
    }
    return;
  }
  if (canceled) {
    const task = model.tasks.get(body.id as string);
    expect(task, `${where}: canceled a task this run never enqueued`).toBeDefined();
    if (task && task.state !== 'canceled') {
      task.state = 'canceled';
      model.canceled += 1;
    } else {
      expect(changes, `${where}: a second cancel wrote to Redis`).toEqual([]);
    }
    if (task) await readBack(task, where);
    return;
  }
  // Invariant 4: an accepted enqueue is readable back.
  const batch = 'tasks' in body;
  const results = (batch ? body.tasks : [body]) as TaskResult[];
  const sent = sentTasks(req.body ?? Buffer.alloc(0), batch);
  if (!batch) expect(res.headers.location, where).toBe(`/v1/tasks/${body.id}`);
  const created = recordEnqueue(model, sent, results, where);
  if (created.length === 0) expect(changes, `${where}: a duplicate wrote to Redis`).toEqual([]);
  else expect(changes.length, `${where}: accepted but wrote nothing`).toBeGreaterThan(0);
  const sample =
    created.length <= 6 ? created : [created[0], created[1], created[created.length - 1]];
  for (const task of sample) if (task) await readBack(task, where);
}

async function endOfRun(model: Model): Promise<void> {
  const req = clean('/v1/stats');
  const res = await rawHttp(edge.url, req);
  expect(res.json, `end of run: ${describeAnswer(req, res)}`).toEqual(expectedStats(model));
  const records = [...(await snapshot()).keys.values()].filter((k) => k.name.includes(':task:'));
  expect(records.length, 'end of run: task records in Redis').toBe(model.tasks.size);
}

// ---------------------------------------------------------------------------------------------

/** A well-formed `GET /v1/stats`, to vary for the examples below. */
const statsStep = (change: Partial<Step>): Step => ({
  method: 'GET',
  path: { route: 'stats', segments: words('v1', 'stats'), bend: 'none', query: '' },
  authorization: `Bearer ${TEST_API_TOKEN}`,
  authValid: true,
  headers: [],
  body: null,
  chunked: false,
  ...change,
});

/** Counterexamples the fuzzer found (fixed since), run first every time. */
const EXAMPLES: [Step[]][] = [
  // A GET with a chunked body (here empty) was a 500: bodyLimit re-wrapped it in a new Request.
  [[statsStep({ body: { kind: 'text', text: '', broken: true }, chunked: true })]],
  // workerd passes a trailing tab on; the token was read with it, and refused (401).
  [[statsStep({ authorization: `  Bearer ${TEST_API_TOKEN}\t` })]],
];

describe('edge API fuzz', () => {
  it(
    `answers every generated request sequence as documented (${RUNS} runs)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
          await deleteNamespace(redis, namespace);
          const model: Model = { ids: [], tasks: new Map(), idempotency: new Map(), canceled: 0 };
          for (const s of steps) await runStep(s, model);
          await endOfRun(model);
        }),
        fuzzParameters(RUNS, TIMEOUT_MS, EXAMPLES),
      );
    },
    TIMEOUT_MS,
  );

  it('answers a GET or HEAD sent with a chunked body as without one (was a 500)', async () => {
    const auth = { authorization: `Bearer ${TEST_API_TOKEN}` };
    for (const body of ['', '{"type":"square","payload":{"x":1}}']) {
      const stats = await rawHttp(edge.url, {
        method: 'GET',
        path: '/v1/stats',
        headers: auth,
        body: Buffer.from(body),
        chunked: true,
      });
      expect(stats.status, stats.text).toBe(200);
      expect(stats.json).toMatchObject({ queue: 'default' });
      const head = await rawHttp(edge.url, {
        method: 'HEAD',
        path: '/v1/stats',
        headers: auth,
        body: Buffer.from(body),
        chunked: true,
      });
      expect(head.status).toBe(200);
      // (GET /v1/tasks is the task search now: an unknown route is another path.)
      const unknown = await rawHttp(edge.url, {
        method: 'GET',
        path: '/v1/no-such-route',
        headers: auth,
        body: Buffer.from(body),
        chunked: true,
      });
      expect(unknown.status, unknown.text).toBe(404);
    }
  });

  it('reads spaces and tabs around the Authorization value as whitespace (a tab was a 401)', async () => {
    for (const authorization of [
      `Bearer ${TEST_API_TOKEN}\t`,
      `Bearer ${TEST_API_TOKEN} \t `,
      `\tbearer ${TEST_API_TOKEN}`,
    ]) {
      const res = await rawHttp(edge.url, {
        method: 'GET',
        path: '/v1/stats',
        headers: { authorization },
      });
      expect(res.status, JSON.stringify(authorization)).toBe(200);
    }
    // The scheme and the token are still separated by spaces only (RFC 6750: 1*SP).
    const tab = await rawHttp(edge.url, {
      method: 'GET',
      path: '/v1/stats',
      headers: { authorization: `Bearer\t${TEST_API_TOKEN}` },
    });
    expect(tab.status).toBe(401);
  });
});
