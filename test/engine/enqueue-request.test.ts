import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_IDEMPOTENCY_TTL_MS, DEFAULT_POLICY, LIMITS } from '../../shared/defaults.js';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  newTaskId,
  prepareBatch,
  prepareEnqueue,
} from '../../shared/enqueue-request.js';
import { defineTask, type TaskRegistry } from '../../shared/task-definition.js';
import { tasks } from '../../shared/tasks/index.js';

const registry = {
  ...tasks,
  blob: defineTask({
    description: 'any payload, with a policy of its own',
    payload: z.unknown(),
    result: z.null(),
    policy: { maxAttempts: 9, backoffMs: 50 },
  }),
} satisfies TaskRegistry;

const fixedId = { newId: () => 'id-1' };

function issuesOf(input: unknown, options = {}) {
  const result = prepareEnqueue(registry, input, options);
  if (result.ok) throw new Error('expected issues');
  return result.issues;
}

describe('prepareEnqueue', () => {
  it('fills in defaults', () => {
    expect(prepareEnqueue(registry, { type: 'square', payload: { x: 3 } }, fixedId)).toEqual({
      ok: true,
      spec: {
        id: 'id-1',
        type: 'square',
        payloadJson: '{"x":3}',
        priority: 'normal',
        delayMs: 0,
        idempotencyKey: undefined,
        idempotencyTtlMs: DEFAULT_IDEMPOTENCY_TTL_MS,
        policy: DEFAULT_POLICY,
      },
    });
  });

  it('applies the type policy, then per-task overrides, and converts the delay to ms', () => {
    const result = prepareEnqueue(
      registry,
      {
        type: 'blob',
        payload: [1, 'a'],
        priority: 'high',
        delaySeconds: 1.5,
        idempotencyKey: 'k',
        timeoutMs: 5000,
      },
      fixedId,
    );
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.spec).toMatchObject({
      payloadJson: '[1,"a"]',
      priority: 'high',
      delayMs: 1500,
      idempotencyKey: 'k',
      policy: { ...DEFAULT_POLICY, maxAttempts: 9, backoffMs: 50, timeoutMs: 5000 },
    });
    expect(DEFAULT_POLICY.maxAttempts).toBe(3);
  });

  it('makes a fresh UUID per task by default', () => {
    const a = prepareEnqueue(registry, { type: 'square', payload: { x: 1 } });
    const b = prepareEnqueue(registry, { type: 'square', payload: { x: 1 } });
    if (!a.ok || !b.ok) throw new Error('invalid');
    expect(a.spec.id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(a.spec.id).not.toBe(b.spec.id);
    expect(newTaskId()).not.toBe(newTaskId());
  });

  it('names an unknown type and lists the known ones', () => {
    expect(issuesOf({ type: 'cube', payload: {} })).toEqual([
      { path: 'type', message: "Unknown task type 'cube' (known: square, blob)" },
    ]);
    expect(issuesOf({ type: 'toString', payload: {} })[0]?.path).toBe('type');
  });

  it('names bad payload fields by their path', () => {
    const issues = issuesOf({ type: 'square', payload: { x: 1.5, delayMs: -1 } });
    expect(issues.map((i) => i.path).sort()).toEqual(['payload.delayMs', 'payload.x']);
    expect(issuesOf({ type: 'square', payload: { x: 'a' } })[0]?.path).toBe('payload.x');
    expect(issuesOf({ type: 'square', payload: { x: 1, y: 2 } })).toEqual([
      { path: 'payload.y', message: 'Unknown field' },
    ]);
  });

  it('requires a payload', () => {
    expect(issuesOf({ type: 'square' }).map((issue) => issue.path)).toEqual(['payload']);
  });

  it('names each unknown top-level field', () => {
    expect(issuesOf({ type: 'square', payload: { x: 1 }, prio: 'high', foo: 1 })).toEqual([
      { path: 'prio', message: 'Unknown field' },
      { path: 'foo', message: 'Unknown field' },
    ]);
  });

  it.each([
    [{ priority: 'urgent' }, 'priority'],
    [{ delaySeconds: -1 }, 'delaySeconds'],
    [{ delaySeconds: LIMITS.delayMs / 1000 + 1 }, 'delaySeconds'],
    [{ idempotencyKey: '' }, 'idempotencyKey'],
    [{ idempotencyKey: 'k'.repeat(LIMITS.idempotencyKeyLength + 1) }, 'idempotencyKey'],
    [{ maxAttempts: 0 }, 'maxAttempts'],
    [{ maxAttempts: 2.5 }, 'maxAttempts'],
    [{ timeoutMs: LIMITS.timeoutMs + 1 }, 'timeoutMs'],
  ])('names the bad option in %j', (extra, path) => {
    expect(issuesOf({ type: 'square', payload: { x: 1 }, ...extra }).map((i) => i.path)).toEqual([
      path,
    ]);
  });

  it('names a request that is not an object', () => {
    expect(issuesOf('square')[0]?.path).toBe('(root)');
    expect(issuesOf({ payload: {} })[0]?.path).toBe('type');
  });

  it('rejects a payload over the byte limit, counting UTF-8 bytes', () => {
    const big = 'x'.repeat(DEFAULT_MAX_PAYLOAD_BYTES);
    expect(issuesOf({ type: 'blob', payload: big })).toEqual([
      {
        path: 'payload',
        message: `Payload is ${DEFAULT_MAX_PAYLOAD_BYTES + 2} bytes; the limit is ${DEFAULT_MAX_PAYLOAD_BYTES}`,
        code: 'too_large',
      },
    ]);
    // "é" is 2 bytes: 4 of them plus the quotes make 10 bytes.
    expect(issuesOf({ type: 'blob', payload: 'éééé' }, { maxPayloadBytes: 9 })[0]?.message).toBe(
      'Payload is 10 bytes; the limit is 9',
    );
    expect(
      prepareEnqueue(registry, { type: 'blob', payload: 'éééé' }, { maxPayloadBytes: 10 }).ok,
    ).toBe(true);
  });
});

describe('prepareBatch', () => {
  it('returns every spec when all are valid', () => {
    let n = 0;
    const result = prepareBatch(
      registry,
      [
        { type: 'square', payload: { x: 1 } },
        { type: 'blob', payload: null, priority: 'low' },
      ],
      { newId: () => `id-${++n}` },
    );
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.specs.map((s) => [s.id, s.type, s.priority])).toEqual([
      ['id-1', 'square', 'normal'],
      ['id-2', 'blob', 'low'],
    ]);
  });

  it('is all or nothing, and prefixes each issue with the index of its request', () => {
    expect(
      prepareBatch(registry, [
        { type: 'square', payload: { x: 1 } },
        { type: 'nope', payload: {} },
        { type: 'square', payload: { x: 'a' }, extra: true },
      ]),
    ).toEqual({
      ok: false,
      issues: [
        { path: '1.type', message: "Unknown task type 'nope' (known: square, blob)" },
        { path: '2.extra', message: 'Unknown field' },
      ],
    });
    const second = prepareBatch(registry, [
      { type: 'square', payload: { x: 1 } },
      { type: 'square', payload: { x: 'a' } },
    ]);
    expect(second.ok ? [] : second.issues.map((i) => i.path)).toEqual(['1.payload.x']);
  });

  it('accepts an empty batch', () => {
    expect(prepareBatch(registry, [])).toEqual({ ok: true, specs: [] });
  });
});

describe('strings that become part of a Redis key must be well-formed Unicode', () => {
  // Redis stores UTF-8: a lone surrogate is written as U+FFFD, so '\ud800' and '\udfff' would
  // name the same idempotency key (and the second task would be answered as a duplicate).
  it.each([
    ['idempotencyKey', { type: 'square', payload: { x: 1 }, idempotencyKey: '\ud800' }],
    ['idempotencyKey', { type: 'square', payload: { x: 1 }, idempotencyKey: 'order-\udfff' }],
    ['idempotencyKey', { type: 'square', payload: { x: 1 }, idempotencyKey: 'a\udc00\ud800b' }],
    ['type', { type: 'square\ud83d', payload: { x: 1 } }],
  ])('names `%s` when it holds a lone surrogate (%j)', (path, input) => {
    const issues = issuesOf(input);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe(path);
    expect(issues[0]?.message).toMatch(/^Must be well-formed Unicode: unpaired surrogate \\u/);
  });

  it('says which surrogate and where', () => {
    expect(
      issuesOf({ type: 'square', payload: { x: 1 }, idempotencyKey: 'ab\udfffc' })[0]?.message,
    ).toBe('Must be well-formed Unicode: unpaired surrogate \\udfff at index 2');
  });

  it('accepts surrogate pairs (astral characters) and other text', () => {
    for (const key of ['\ud83d\ude00', 'ключ-💡', 'a\u0000b', '\ufffd']) {
      const result = prepareEnqueue(registry, {
        type: 'square',
        payload: { x: 1 },
        idempotencyKey: key,
      });
      expect(result.ok, key).toBe(true);
    }
  });

  it('names a task id from newId that is not well-formed', () => {
    expect(issuesOf({ type: 'square', payload: { x: 1 } }, { newId: () => 'id-\ud800' })).toEqual([
      { path: 'id', message: 'Must be well-formed Unicode: unpaired surrogate \\ud800 at index 3' },
    ]);
  });

  it('keeps a payload with lone surrogates lossless: JSON.stringify escapes them', () => {
    const payload = { text: 'a\ud800b', 'k\udfff': ['\udc00'] };
    const result = prepareEnqueue(registry, { type: 'blob', payload }, fixedId);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    // Only ASCII escapes reach Redis, so nothing is lost to U+FFFD.
    expect(result.spec.payloadJson).toBe('{"text":"a\\ud800b","k\\udfff":["\\udc00"]}');
    expect(JSON.parse(result.spec.payloadJson)).toEqual(payload);
  });

  it('prefixes the issue with the index in a batch', () => {
    const result = prepareBatch(registry, [
      { type: 'square', payload: { x: 1 }, idempotencyKey: 'fine' },
      { type: 'square', payload: { x: 2 }, idempotencyKey: '\udfff' },
    ]);
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual(['1.idempotencyKey']);
  });
});
