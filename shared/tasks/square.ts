import * as z from 'zod';
import { defineTask } from '../task-definition.js';

/** The largest |x| whose square is still an exact JavaScript integer. */
export const SQUARE_MAX_ABS_X = 94_906_265;

/**
 * The demo task of the original design: squares `x`, after sleeping `delayMs` (default 0) to
 * stand in for real work.
 */
export const square = defineTask({
  description: 'Returns x*x after an optional delay of delayMs milliseconds (demo task).',
  payload: z
    .object({
      x: z.int().min(-SQUARE_MAX_ABS_X).max(SQUARE_MAX_ABS_X),
      delayMs: z.int().min(0).max(600_000).optional(),
    })
    .strict(),
  result: z.int(),
});
