/**
 * Running one task in a child: look up its handler, validate the payload with the type's schema
 * (a bad one is an unrecoverable failure), call the handler with its context, check the result
 * against the result schema and turn it into JSON (a result that has none, such as a BigInt or
 * a cycle, is an unrecoverable failure too).
 */
import { type HandlerSet, UnrecoverableError } from '../handler-api.js';
import type { RunError, RunTask } from './protocol.js';

/** The outcome of one run; `ms` is its wall time in the child, the result JSON text. */
export type RunOutcome =
  | { id: string; ms: number; ok: true; resultJson: string }
  | { id: string; ms: number; ok: false; error: RunError };

/**
 * The abort state of one run. Its AbortController is made only when the handler reads
 * `ctx.signal` (most never do, and one per run is measurable on a hot line).
 */
class RunAbort {
  private controller: AbortController | undefined;
  private reason: Error | undefined;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: Error): void {
    this.reason ??= reason;
    this.controller?.abort(reason);
  }
}

const aborts = new Map<string, RunAbort>();

/** Fires the AbortSignal of run `id`, if it is running. */
export function abortRun(id: string, reason: string): void {
  aborts.get(id)?.abort(new Error(reason));
}

/** A thrown value as the parent gets it. */
export function toRunError(error: unknown, unrecoverable = false): RunError {
  if (error instanceof Error) {
    return {
      name: error.name,
      message: error.message || error.name,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      unrecoverable:
        unrecoverable || error instanceof UnrecoverableError || error.name === 'UnrecoverableError',
    };
  }
  return { name: 'Error', message: `non-Error thrown: ${String(error)}`, unrecoverable };
}

/** The text a failed run is recorded with in its task's `error`. */
export function errorText(error: RunError): string {
  return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
}

/** `value` as JSON text, or undefined when it has none. */
function toJson(value: unknown): string | undefined {
  try {
    const text: unknown = JSON.stringify(value);
    return typeof text === 'string' ? text : undefined;
  } catch {
    return undefined;
  }
}

function failure(id: string, message: string): RunOutcome {
  return { id, ms: 0, ok: false, error: toRunError(new Error(message), true) };
}

function describeIssues(
  root: string,
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
): string {
  return issues.map((i) => `${[root, ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
}

/** Runs `task` with the handlers of `set` and times it; never throws. */
export async function runTask(set: HandlerSet, task: RunTask): Promise<RunOutcome> {
  const started = performance.now();
  const outcome = await run(set, task);
  outcome.ms = performance.now() - started;
  return outcome;
}

/** The run itself; its outcome's `ms` is filled in by runTask. */
async function run(set: HandlerSet, task: RunTask): Promise<RunOutcome> {
  const definition = Object.hasOwn(set.registry, task.type) ? set.registry[task.type] : undefined;
  const handler = Object.hasOwn(set.handlers, task.type) ? set.handlers[task.type] : undefined;
  if (!definition || !handler) return failure(task.id, `no handler for task type '${task.type}'`);
  const payload = definition.payload.safeParse(task.payload);
  if (!payload.success) {
    return failure(task.id, `invalid payload: ${describeIssues('payload', payload.error.issues)}`);
  }
  const abort = new RunAbort();
  aborts.set(task.id, abort);
  try {
    const value = await handler(payload.data, {
      id: task.id,
      type: task.type,
      attempt: task.attempt,
      maxAttempts: task.maxAttempts,
      priority: task.priority,
      get signal() {
        return abort.signal;
      },
    });
    const checked = definition.result.safeParse(value);
    if (!checked.success) {
      return failure(
        task.id,
        `handler returned an invalid result: ${describeIssues('result', checked.error.issues)}`,
      );
    }
    const resultJson = toJson(value === undefined ? null : value);
    if (resultJson === undefined) {
      return failure(task.id, 'handler returned a result that cannot be written as JSON');
    }
    return { id: task.id, ms: 0, ok: true, resultJson };
  } catch (error) {
    return { id: task.id, ms: 0, ok: false, error: toRunError(error) };
  } finally {
    aborts.delete(task.id);
  }
}
