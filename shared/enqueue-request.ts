/**
 * What a producer asks for, validated before anything touches Redis.
 *
 * The same rules serve the HTTP API (`POST /v1/tasks`), the CLI (`enqueue`) and the typed
 * producer: a request names a declared task type, carries a payload that passes the type's
 * schema, and may set a priority, a delay, an idempotency key and policy overrides. A request
 * that fails any rule yields issues naming the field, and nothing is written.
 *
 * Strings that become part of a Redis key or name a task (the type, the idempotency key, the task
 * id) must be well-formed Unicode. Redis stores bytes, and both clients encode strings as UTF-8,
 * which turns every unpaired UTF-16 surrogate into U+FFFD: '\ud800' and '\udfff' would name one
 * idempotency key, and the second task would be answered as a duplicate of the first. The payload
 * needs no such rule: `JSON.stringify` writes a lone surrogate as the escape `\ud800` (ASCII),
 * so the stored JSON decodes to exactly the payload that was sent.
 */
import * as z from 'zod';
import { DEFAULT_IDEMPOTENCY_TTL_MS, DEFAULT_POLICY, LIMITS, type TaskPolicy } from './defaults.js';
import { DEFAULT_PRIORITY, PRIORITIES, type Priority } from './priority.js';
import type { TaskRegistry } from './task-definition.js';

/** An unpaired UTF-16 surrogate: a high one not followed by a low one, or a low one alone. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why `text` cannot be stored as it is, or null when it can: the first unpaired surrogate and its
 * index (UTF-8 has no encoding for it, so Redis would receive U+FFFD in its place).
 *
 * @example
 * wellFormedProblem('a\ud800'); // 'Must be well-formed Unicode: unpaired surrogate \\ud800 at index 1'
 */
export function wellFormedProblem(text: string): string | null {
  const match = LONE_SURROGATE.exec(text);
  if (!match) return null;
  const unit = match[0].charCodeAt(0).toString(16);
  return `Must be well-formed Unicode: unpaired surrogate \\u${unit} at index ${match.index}`;
}

/** A string schema that refuses unpaired surrogates (see `wellFormedProblem`). */
const wellFormed = (schema: z.ZodString) =>
  schema.check((ctx) => {
    const problem = wellFormedProblem(ctx.value);
    if (problem) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
  });

/** The wire shape of one enqueue request (HTTP body, JSON line of `enqueue --file`). */
export const enqueueRequestSchema = z
  .object({
    type: wellFormed(z.string().min(1).max(LIMITS.typeLength)),
    payload: z.unknown(),
    priority: z.enum(PRIORITIES).optional(),
    delaySeconds: z
      .number()
      .min(0)
      .max(LIMITS.delayMs / 1000)
      .optional(),
    idempotencyKey: wellFormed(z.string().min(1).max(LIMITS.idempotencyKeyLength)).optional(),
    maxAttempts: z.int().min(1).max(LIMITS.maxAttempts).optional(),
    maxStalls: z.int().min(0).max(LIMITS.maxStalls).optional(),
    timeoutMs: z.int().min(1).max(LIMITS.timeoutMs).optional(),
  })
  .strict();

/** One enqueue request as sent by a producer. */
export type EnqueueRequest = z.input<typeof enqueueRequestSchema>;

/** A validated request, ready for the enqueue script. */
export interface TaskSpec {
  readonly id: string;
  readonly type: string;
  /** The payload, JSON-encoded once. */
  readonly payloadJson: string;
  readonly priority: Priority;
  readonly delayMs: number;
  readonly idempotencyKey: string | undefined;
  readonly idempotencyTtlMs: number;
  readonly policy: TaskPolicy;
}

/** One problem with a request; `path` names the field (e.g. `payload.x`, `tasks.3.type`). */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
  /** Set for problems that are about size rather than shape (HTTP answers 413 for them). */
  readonly code?: 'too_large';
}

/** The outcome of validating one request. */
export type PrepareResult =
  | { readonly ok: true; readonly spec: TaskSpec }
  | { readonly ok: false; readonly issues: ValidationIssue[] };

/** Knobs for `prepareEnqueue`. */
export interface PrepareOptions {
  /** Largest JSON-encoded payload, in bytes. @default 262_144 (256 KiB) */
  maxPayloadBytes?: number;
  /** Makes a task id; tests may pin it. @default crypto.randomUUID */
  newId?: () => string;
}

/** Default largest payload: 256 KiB of JSON. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;

const encoder = new TextEncoder();

/** Turns zod issues into `ValidationIssue`s, with `prefix` before each path. */
export function toIssues(error: z.ZodError, prefix = ''): ValidationIssue[] {
  const join = (parts: readonly PropertyKey[]): string =>
    [prefix, ...parts.map(String)].filter((part) => part !== '').join('.') || '(root)';
  return error.issues.flatMap((issue) =>
    // zod reports unknown fields at the object's path; name each field instead.
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: join([...issue.path, key]), message: 'Unknown field' }))
      : [{ path: join(issue.path), message: issue.message }],
  );
}

/**
 * Validates one enqueue request against the registry and fills in the policy.
 *
 * @returns the spec, or issues naming each bad field; never throws for bad input.
 */
export function prepareEnqueue(
  registry: TaskRegistry,
  input: unknown,
  options: PrepareOptions = {},
): PrepareResult {
  const parsed = enqueueRequestSchema.safeParse(input);
  if (!parsed.success) return { ok: false, issues: toIssues(parsed.error) };
  const request = parsed.data;
  const definition = Object.hasOwn(registry, request.type) ? registry[request.type] : undefined;
  if (!definition) {
    const known = Object.keys(registry).join(', ');
    return {
      ok: false,
      issues: [{ path: 'type', message: `Unknown task type '${request.type}' (known: ${known})` }],
    };
  }
  if (request.payload === undefined) {
    return { ok: false, issues: [{ path: 'payload', message: 'Required' }] };
  }
  const payload = definition.payload.safeParse(request.payload);
  if (!payload.success) return { ok: false, issues: toIssues(payload.error, 'payload') };

  const payloadJson = JSON.stringify(request.payload);
  const maxBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const size = encoder.encode(payloadJson).byteLength;
  if (size > maxBytes) {
    return {
      ok: false,
      issues: [
        {
          path: 'payload',
          message: `Payload is ${size} bytes; the limit is ${maxBytes}`,
          code: 'too_large',
        },
      ],
    };
  }
  const policy: TaskPolicy = { ...DEFAULT_POLICY, ...definition.policy };
  if (request.maxAttempts !== undefined) policy.maxAttempts = request.maxAttempts;
  if (request.maxStalls !== undefined) policy.maxStalls = request.maxStalls;
  if (request.timeoutMs !== undefined) policy.timeoutMs = request.timeoutMs;
  const id = (options.newId ?? newTaskId)();
  const badId = wellFormedProblem(id);
  if (badId) return { ok: false, issues: [{ path: 'id', message: badId }] };
  return {
    ok: true,
    spec: {
      id,
      type: request.type,
      payloadJson,
      priority: request.priority ?? DEFAULT_PRIORITY,
      delayMs: Math.round((request.delaySeconds ?? 0) * 1000),
      idempotencyKey: request.idempotencyKey,
      idempotencyTtlMs: DEFAULT_IDEMPOTENCY_TTL_MS,
      policy,
    },
  };
}

/**
 * Validates a batch all-or-nothing: either every request is valid, or the issues of all the
 * invalid ones come back with paths prefixed by their index (`3.payload.x`).
 */
export function prepareBatch(
  registry: TaskRegistry,
  inputs: readonly unknown[],
  options: PrepareOptions = {},
): { ok: true; specs: TaskSpec[] } | { ok: false; issues: ValidationIssue[] } {
  const specs: TaskSpec[] = [];
  const issues: ValidationIssue[] = [];
  inputs.forEach((input, index) => {
    const result = prepareEnqueue(registry, input, options);
    if (result.ok) specs.push(result.spec);
    else
      for (const issue of result.issues) issues.push({ ...issue, path: `${index}.${issue.path}` });
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, specs };
}

/** A new random task id (UUID v4); works in Workers and Node alike. */
export function newTaskId(): string {
  return crypto.randomUUID();
}
