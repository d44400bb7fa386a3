/**
 * The life of a task.
 *
 * ```
 *   enqueue ──► queued ◄──────────── promote ◄── delayed ◄── enqueue with a delay
 *                 │  ▲  ▲                ▲
 *         claim   │  │  └─ reap (lease expired, attempts left) / release (shutdown, attempt refunded)
 *                 ▼  │
 *               active ── complete ──► succeeded            (record kept resultTtlMs)
 *                 │
 *                 ├── fail, attempts left ──► failed ── promote (after backoff) ──► queued
 *                 └── fail, none left / unrecoverable / reap with none left ──► dead
 *                                                          (kept deadTtlMs; `dead --retry` ──► queued)
 *   queued | delayed | failed ── cancel ──► canceled        (record kept resultTtlMs)
 * ```
 *
 * Only the Lua scripts in `shared/scripts/` move a task between states, each in one atomic step.
 */
export const TASK_STATES = [
  'queued',
  'delayed',
  'active',
  'succeeded',
  'failed',
  'dead',
  'canceled',
] as const;

/** A task's state; see the diagram above. */
export type TaskState = (typeof TASK_STATES)[number];
