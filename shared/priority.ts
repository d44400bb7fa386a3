/** The three priority lanes of a queue, strongest first. */
export const PRIORITIES = ['high', 'normal', 'low'] as const;

/** A lane name. `normal` is the default. */
export type Priority = (typeof PRIORITIES)[number];

/** The lane a task goes to when none is named. */
export const DEFAULT_PRIORITY: Priority = 'normal';

/** One-letter codes that the claim scripts read as a lane order, e.g. `hnl` for strict priority. */
export const LANE_CODE: Record<Priority, string> = { high: 'h', normal: 'n', low: 'l' };

/** Strict priority: high before normal before low. */
export const STRICT_LANE_ORDER = 'hnl';

/** Type guard for a lane name. */
export function isPriority(value: unknown): value is Priority {
  return typeof value === 'string' && (PRIORITIES as readonly string[]).includes(value);
}
