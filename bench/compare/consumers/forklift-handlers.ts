/**
 * Forklift's handlers for the comparison: the built-in `square` task (payload validated by its
 * zod schema in the child, as in production), noting each start with the probe.
 */
import { tasks } from '../../../shared/tasks/index.js';
import { defineHandlers } from '../../../worker-host/handler-api.js';
import { handlersLoaded, taskStarted } from '../probe.js';

handlersLoaded();

export default defineHandlers(tasks, {
  square: ({ x }) => {
    taskStarted();
    return x * x;
  },
});
