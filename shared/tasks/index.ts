/**
 * The task types this deployment knows. Add a type by declaring it in a file of this folder and
 * listing it here; then give it a handler in `worker-host/handlers/index.ts` (the compiler
 * insists on one per type).
 */
import type { TaskRegistry } from '../task-definition.js';
import { square } from './square.js';

/** The built-in task registry, used by the edge, the CLI and the default worker host. */
export const tasks = {
  square,
} as const satisfies TaskRegistry;

/** The type of the built-in registry. */
export type Tasks = typeof tasks;
