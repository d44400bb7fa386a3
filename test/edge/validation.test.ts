/**
 * Bad input never reaches Redis: every rejected request answers 400/413 with
 * `{ error: { code, message, details } }` naming the field, makes no request to the store, and
 * leaves the namespace empty. The Worker runs in workerd; its outbound fetches are recorded.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { edgeBindings, startTestEdge, TEST_API_TOKEN, type TestEdge } from '../support/edge.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deleteNamespace, testNamespace, testRedis } from '../support/redis.js';

const namespace = testNamespace('edge-validation');
let gateway: TestGateway;
let edge: TestEdge;
let redis: Redis;

const KiB = 1024;
const square = (x: unknown, extra: Record<string, unknown> = {}) => ({
  type: 'square',
  payload: { x },
  ...extra,
});

beforeAll(async () => {
  redis = testRedis();
  gateway = await startTestGateway();
  edge = await startTestEdge({
    bindings: edgeBindings(gateway, { namespace }),
    countOutbound: true,
  });
});
afterAll(async () => {
  await edge?.dispose();
  await gateway?.close();
  await deleteNamespace(redis, namespace);
  redis.disconnect();
});

async function namespaceKeys(): Promise<string[]> {
  return redis.keys(`${namespace}:*`);
}

afterEach(async () => {
  // A rejected request makes no round trip and writes nothing.
  expect(edge.outbound).toEqual([]);
  expect(await namespaceKeys()).toEqual([]);
});

/** Posts `body` and expects `status` with `code` and an issue at each of `paths`. */
async function rejects(
  path: string,
  body: unknown,
  status: number,
  code: string,
  paths: string[] = [],
): Promise<{ message: string; issues: { path: string; message: string }[] }> {
  const res = await edge.api('POST', path, { body });
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
  const issues = res.body.error.details?.issues ?? [];
  expect(issues.map((i: { path: string }) => i.path)).toEqual(paths);
  return { message: res.body.error.message, issues };
}

describe('POST /v1/tasks', () => {
  test.each([
    ['malformed JSON', '{"type": "square", '],
    ['an empty body', ''],
    ['only whitespace', '  \n'],
  ])('%s: 400 invalid_json', async (_name, body) => {
    const { message } = await rejects('/v1/tasks', body, 400, 'invalid_json');
    expect(message).toMatch(/not valid JSON|empty/);
  });

  test('an unknown task type names `type` and lists the known ones', async () => {
    const { issues } = await rejects(
      '/v1/tasks',
      { type: 'cube', payload: { x: 1 } },
      400,
      'invalid_request',
      ['type'],
    );
    expect(issues[0]?.message).toContain("Unknown task type 'cube'");
    expect(issues[0]?.message).toContain('square');
  });

  test.each([
    ['a string where an int is due', { x: 'three' }, ['payload.x']],
    ['a fraction', { x: 1.5 }, ['payload.x']],
    ['out of range', { x: 10 ** 9 }, ['payload.x']],
    ['a missing field', {}, ['payload.x']],
    ['an unknown field', { x: 1, y: 2 }, ['payload.y']],
    ['not an object', [1, 2], ['payload']],
  ])('a payload with %s names the field', async (_name, payload, paths) => {
    await rejects('/v1/tasks', { type: 'square', payload }, 400, 'invalid_request', paths);
  });

  test('a missing payload names `payload`', async () => {
    await rejects('/v1/tasks', { type: 'square' }, 400, 'invalid_request', ['payload']);
  });

  test.each([
    ['type', { type: 7, payload: { x: 1 } }],
    ['priority', square(1, { priority: 'urgent' })],
    ['delaySeconds', square(1, { delaySeconds: 'soon' })],
    ['delaySeconds', square(1, { delaySeconds: -1 })],
    ['idempotencyKey', square(1, { idempotencyKey: 42 })],
    ['idempotencyKey', square(1, { idempotencyKey: '' })],
    ['maxAttempts', square(1, { maxAttempts: 1.5 })],
    ['maxAttempts', square(1, { maxAttempts: 0 })],
    ['timeoutMs', square(1, { timeoutMs: '100' })],
    ['extra', square(1, { extra: true })],
  ])('a bad `%s` is named', async (field, body) => {
    await rejects('/v1/tasks', body, 400, 'invalid_request', [field]);
  });

  test.each([
    ['an array', [square(1)]],
    ['a string', 'just text'],
    ['null', null],
  ])('a body that is %s is refused', async (_name, body) => {
    const res = await edge.api('POST', '/v1/tasks', { body: JSON.stringify(body) });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.details.issues[0].path).toBe('(root)');
  });

  test('several issues are all reported', async () => {
    const { message } = await rejects(
      '/v1/tasks',
      { type: 'square', payload: { x: 'a' }, priority: 'x' },
      400,
      'invalid_request',
      ['priority'],
    );
    // The envelope is checked first; the payload only once the envelope is valid.
    expect(message).toMatch(/^priority: /);
  });

  test('a payload over 256 KiB that also breaks its schema: 400 (the schema is checked first)', async () => {
    // No valid `square` payload reaches 256 KiB; the 413 for a valid payload over the limit is
    // shown below with a Worker configured with a small limit.
    const big = { type: 'square', payload: { x: 1, pad: 'p'.repeat(300 * KiB) } };
    await rejects('/v1/tasks', big, 400, 'invalid_request', ['payload.pad']);
  });

  test('a body over 1 MiB: 413 payload_too_large (by Content-Length)', async () => {
    const body = JSON.stringify(square(1, { idempotencyKey: 'k'.repeat(1100 * KiB) }));
    const res = await edge.api('POST', '/v1/tasks', { body });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({
      code: 'payload_too_large',
      details: { limit: 1024 * KiB },
    });
  });

  test('a body over 1 MiB: 413 payload_too_large (streamed, no Content-Length)', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * KiB));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 20) controller.close();
        else {
          sent += 1;
          controller.enqueue(chunk);
        }
      },
    });
    const res = await edge.fetch('/v1/tasks', {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_TOKEN}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'payload_too_large',
    );
  });
});

describe('POST /v1/tasks/batch', () => {
  test('a batch with one bad task: 400 naming tasks.<i>.<field>, nothing written', async () => {
    const { issues } = await rejects(
      '/v1/tasks/batch',
      { tasks: [square(1), square('two'), square(3), { type: 'cube', payload: {} }] },
      400,
      'invalid_request',
      ['tasks.1.payload.x', 'tasks.3.type'],
    );
    expect(issues).toHaveLength(2);
  });

  test.each([
    ['no tasks field', {}, ['tasks']],
    ['tasks not an array', { tasks: { 0: square(1) } }, ['tasks']],
    ['an empty batch', { tasks: [] }, ['tasks']],
    ['more than 1000 tasks', { tasks: Array.from({ length: 1001 }, () => square(1)) }, ['tasks']],
    ['an unknown envelope field', { tasks: [square(1)], mode: 'fast' }, ['mode']],
  ])('%s: 400 naming the field', async (_name, body, paths) => {
    await rejects('/v1/tasks/batch', body, 400, 'invalid_request', paths);
  });

  test('malformed JSON: 400 invalid_json', async () => {
    await rejects('/v1/tasks/batch', '{"tasks": [', 400, 'invalid_json');
  });

  test('a body over 1 MiB: 413', async () => {
    const tasks = Array.from({ length: 1000 }, (_, i) =>
      square(i, { idempotencyKey: `${i}-${'k'.repeat(1100)}` }),
    );
    const res = await edge.api('POST', '/v1/tasks/batch', { body: { tasks } });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });
});

describe('per-task payload limit', () => {
  // A Worker with a small payload limit shows the 413 for a payload that passes its schema.
  let small: TestEdge;
  beforeAll(async () => {
    small = await startTestEdge({
      bindings: edgeBindings(gateway, {
        namespace,
        extra: { FORKLIFT_MAX_TASK_BYTES: '8', FORKLIFT_MAX_REQUEST_BYTES: '4096' },
      }),
      countOutbound: true,
    });
  });
  afterAll(() => small?.dispose());
  afterEach(() => expect(small.outbound).toEqual([]));

  test('one task: 413 naming `payload`', async () => {
    const res = await small.api('POST', '/v1/tasks', { body: square(123456) });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({
      code: 'payload_too_large',
      details: {
        issues: [
          { path: 'payload', message: 'Payload is 12 bytes; the limit is 8', code: 'too_large' },
        ],
      },
    });
  });

  test('a batch: 413 naming `tasks.<i>.payload`', async () => {
    const res = await small.api('POST', '/v1/tasks/batch', {
      body: { tasks: [square(1), square(123456)] },
    });
    expect(res.status).toBe(413);
    expect(res.body.error.details.issues).toEqual([
      {
        path: 'tasks.1.payload',
        message: 'Payload is 12 bytes; the limit is 8',
        code: 'too_large',
      },
    ]);
  });

  test('the request limit is configurable too', async () => {
    const res = await small.api('POST', '/v1/tasks', {
      body: square(1, { idempotencyKey: 'k'.repeat(5000) }),
    });
    expect(res).toMatchObject({ status: 413, body: { error: { details: { limit: 4096 } } } });
  });
});

describe('task ids in paths', () => {
  test.each([
    ['GET', `/v1/tasks/${'a'.repeat(129)}`],
    ['GET', '/v1/tasks/has%20space'],
    ['DELETE', '/v1/tasks/semi;colon'],
  ])('%s %s: 400 naming `id`', async (method, path) => {
    const res = await edge.api(method, path);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'invalid_request',
      details: { issues: [{ path: 'id' }] },
    });
  });
});

describe('strings that are not well-formed Unicode (lone surrogates)', () => {
  // JSON may carry '\ud800'; Redis would store it as U+FFFD, so '\ud800' and '\udfff' would be
  // one idempotency key. Refused before anything is sent to the store.
  test.each([
    ['idempotencyKey', square(1, { idempotencyKey: '\ud800' }), '\\ud800 at index 0'],
    ['idempotencyKey', square(1, { idempotencyKey: 'order-\udfff' }), '\\udfff at index 6'],
    ['type', { type: 'square\udc00', payload: { x: 1 } }, '\\udc00 at index 6'],
  ])('a `%s` with a lone surrogate: 400 naming it', async (field, body, where) => {
    const { message, issues } = await rejects('/v1/tasks', body, 400, 'invalid_request', [field]);
    expect(issues[0]?.message).toBe(`Must be well-formed Unicode: unpaired surrogate ${where}`);
    expect(message).toBe(`${field}: ${issues[0]?.message}`);
  });

  test('in a batch: 400 naming tasks.<i>.idempotencyKey, nothing written', async () => {
    await rejects(
      '/v1/tasks/batch',
      {
        tasks: [
          square(1, { idempotencyKey: 'k-\ud83d\ude00' }), // a surrogate pair is fine
          square(2, { idempotencyKey: '\ud800' }),
          square(3, { idempotencyKey: '\udfff' }),
        ],
      },
      400,
      'invalid_request',
      ['tasks.1.idempotencyKey', 'tasks.2.idempotencyKey'],
    );
  });

  test.each([
    ['GET', '/v1/tasks/%ED%A0%80'], // the UTF-8-style bytes of U+D800: not UTF-8
    ['DELETE', '/v1/tasks/%ED%BF%BF'],
    ['GET', '/v1/tasks/a%EF%BF%BD'], // U+FFFD itself
    ['DELETE', '/v1/tasks/%F0%9F%98%80'],
  ])('an id in the path that is not ASCII: %s %s answers 400 naming `id`', async (method, path) => {
    const res = await edge.api(method, path);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'invalid_request',
      details: { issues: [{ path: 'id' }] },
    });
  });
});
