/**
 * Default task policy. Each value can be overridden per task type (in its definition) and per
 * task (at enqueue time); the record stores the effective values, so the Lua scripts never
 * look anything up.
 */
export interface TaskPolicy {
  /** Runs allowed before a task is dead. @default 3 */
  maxAttempts: number;
  /**
   * Times a task may lose its worker host (a crash, kill or cut-off: its lease expired with the
   * host gone) and go back to its lane; one more and it is dead. A stall is not an attempt: the
   * run never ended. @default 3
   */
  maxStalls: number;
  /** First retry delay; doubles on each attempt, with jitter. @default 1000 */
  backoffMs: number;
  /** Ceiling of the retry delay. @default 3_600_000 (1 h) */
  backoffMaxMs: number;
  /** A run longer than this is killed and counts as a failed attempt. @default 300_000 (5 min) */
  timeoutMs: number;
  /** How long a succeeded or canceled record (and its result) is kept. @default 7 days */
  resultTtlMs: number;
  /** How long a dead record is kept for inspection and retry. @default 30 days */
  deadTtlMs: number;
}

const DAY_MS = 86_400_000;

/** The defaults named in the policy above. */
export const DEFAULT_POLICY: Readonly<TaskPolicy> = Object.freeze({
  maxAttempts: 3,
  maxStalls: 3,
  backoffMs: 1_000,
  backoffMaxMs: 3_600_000,
  timeoutMs: 300_000,
  resultTtlMs: 7 * DAY_MS,
  deadTtlMs: 30 * DAY_MS,
});

/** How long an idempotency key remembers its task id. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = DAY_MS;

/** Upper bounds that keep a typo from parking a task for years. */
export const LIMITS = Object.freeze({
  maxAttempts: 100,
  maxStalls: 100,
  timeoutMs: 24 * 3_600_000,
  delayMs: 365 * DAY_MS,
  idempotencyKeyLength: 256,
  typeLength: 128,
  batchSize: 1_000,
});
