/**
 * Task types are declared once, here in `shared/`, and both halves derive from the declaration:
 * the edge and the CLI validate payloads against `payload` before anything is written, the
 * worker host validates again in the child before the handler runs, and TypeScript types the
 * producer's `enqueue` and the consumer's handler from the same schemas.
 */
import type { z } from 'zod';
import type { TaskPolicy } from './defaults.js';

/** The declaration of one task type. */
export interface TaskDefinition<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  /** What the task does, for docs and the OpenAPI description. */
  readonly description: string;
  /** Schema of the payload. Validated at enqueue time and again before the handler runs. */
  readonly payload: P;
  /** Schema of the handler's result (checked in the child before it is stored). */
  readonly result: R;
  /** Policy overrides for every task of this type (per-task options override these again). */
  readonly policy?: Partial<TaskPolicy>;
}

/** A map from task type name to its declaration. */
export type TaskRegistry = Readonly<Record<string, TaskDefinition>>;

/** The payload a producer passes for task type `K` (schema input). */
export type PayloadInput<Reg extends TaskRegistry, K extends keyof Reg> = z.input<
  Reg[K]['payload']
>;

/** The payload a handler receives for task type `K` (schema output). */
export type PayloadOf<Reg extends TaskRegistry, K extends keyof Reg> = z.output<Reg[K]['payload']>;

/** The result a handler returns for task type `K`. */
export type ResultOf<Reg extends TaskRegistry, K extends keyof Reg> = z.input<Reg[K]['result']>;

/**
 * Declares a task type; an identity function that keeps the schema types precise.
 *
 * @example
 * export const resize = defineTask({
 *   description: 'Resize an image',
 *   payload: z.object({ url: z.url(), width: z.int().positive() }),
 *   result: z.object({ url: z.url() }),
 *   policy: { timeoutMs: 60_000 },
 * });
 */
export function defineTask<P extends z.ZodType, R extends z.ZodType>(
  definition: TaskDefinition<P, R>,
): TaskDefinition<P, R> {
  return definition;
}
