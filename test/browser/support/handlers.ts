/**
 * The handlers module of the browser tests' worker host: the built-in `square` task, and `gate`
 * (from the test fixtures), which fails while the file named by its `open` field is missing and
 * returns "passed" once it exists. Enqueued with `maxAttempts: 1`, a closed gate sends its task
 * to `dead`; opening the gate and retrying the task from the dashboard then makes it succeed.
 */
import { fileURLToPath } from 'node:url';
import { tasks } from '../../../shared/tasks/index.js';
import { defineHandlers } from '../../../worker-host/handler-api.js';
import builtin from '../../../worker-host/handlers/index.js';
import fixtures, { fixtureTasks } from '../../fixtures/handlers.js';

/** Absolute path of this module, for `handlersModule`. */
export const BROWSER_HANDLERS = fileURLToPath(import.meta.url);

/** The task types the browser tests enqueue. */
export const browserTasks = { square: tasks.square, gate: fixtureTasks.gate } as const;

export default defineHandlers(browserTasks, {
  square: builtin.handlers.square,
  gate: fixtures.handlers.gate,
});
