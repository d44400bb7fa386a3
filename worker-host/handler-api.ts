/**
 * How a task type gets its code: a handler `(payload, ctx) => result` per declared type,
 * collected with `defineHandlers`, typed from the shared declarations so that a missing
 * handler or a wrong payload type is a compile error.
 */
import type { Priority } from '../shared/priority.js';
import type { PayloadOf, ResultOf, TaskRegistry } from '../shared/task-definition.js';

/** What a handler knows about the run it is in. */
export interface HandlerContext {
  /** The task id. */
  readonly id: string;
  /** The task type. */
  readonly type: string;
  /** 1 for the first run, 2 for the first retry, ... */
  readonly attempt: number;
  /** Runs allowed in all. */
  readonly maxAttempts: number;
  readonly priority: Priority;
  /**
   * Aborted when the run must stop: the host is shutting down and the grace period ended, or
   * the run is being given up. Pass it to fetch() and the like.
   */
  readonly signal: AbortSignal;
}

/** A handler: takes the validated payload, returns (or resolves to) the result. */
export type Handler<P = unknown, R = unknown> = (payload: P, ctx: HandlerContext) => R | Promise<R>;

/** One handler per task type of `Reg`. */
export type HandlerMap<Reg extends TaskRegistry> = {
  readonly [K in keyof Reg]: Handler<PayloadOf<Reg, K>, ResultOf<Reg, K>>;
};

/** A registry with its handlers: what a handlers module default-exports. */
export interface HandlerSet<Reg extends TaskRegistry = TaskRegistry> {
  readonly registry: Reg;
  readonly handlers: HandlerMap<Reg>;
}

/**
 * Pairs a registry with its handlers. A handlers module (the built-in one is
 * `worker-host/handlers/index.ts`; `forklift worker --handlers PATH` loads another) must
 * `export default defineHandlers(...)`.
 *
 * @example
 * export default defineHandlers(tasks, {
 *   square: async ({ x }) => x * x,
 * });
 */
export function defineHandlers<Reg extends TaskRegistry>(
  registry: Reg,
  handlers: HandlerMap<Reg>,
): HandlerSet<Reg> {
  return { registry, handlers };
}

/**
 * Throw this from a handler when retrying cannot help (bad input, a resource that is gone):
 * the task goes straight to `dead` instead of spending its remaining attempts.
 */
export class UnrecoverableError extends Error {
  override name = 'UnrecoverableError';
}
