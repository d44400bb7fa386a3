/** Benchmark task types: `noop` returns at once, so a run measures the queue, not the work. */
import * as z from 'zod';
import { defineTask } from '../shared/task-definition.js';
import { defineHandlers } from '../worker-host/handler-api.js';

/** The benchmark registry. */
export const benchTasks = {
  noop: defineTask({
    description: 'Does nothing; returns its payload n.',
    payload: z.object({ n: z.int() }),
    result: z.int(),
  }),
} as const;

export default defineHandlers(benchTasks, {
  noop: ({ n }) => n,
});
