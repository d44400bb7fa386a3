/**
 * The built-in handlers: one per task type declared in `shared/tasks/`. The worker host loads
 * this module in each child process unless `--handlers` names another.
 */
import { tasks } from '../../shared/tasks/index.js';
import { defineHandlers } from '../handler-api.js';
import { sleep } from './sleep.js';

export default defineHandlers(tasks, {
  square: async ({ x, delayMs = 0 }, ctx) => {
    if (delayMs > 0) await sleep(delayMs, ctx.signal);
    return x * x;
  },
});
