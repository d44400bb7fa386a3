/**
 * Which lane a claim tries first.
 *
 * Strict priority always answers `hnl`. Weighted fetching (`--weights 6,3,1`) uses smooth
 * weighted round-robin (the nginx algorithm): over every 10 claims, 6 try `high` first, 3
 * `normal` and 1 `low`, evenly interleaved and deterministic, so the low lane is served while
 * high work waits, without the clumping of a random draw. The lanes not drawn follow in strict
 * order, so an empty first choice never leaves a slot idle while work waits elsewhere.
 */
import { LANE_CODE, PRIORITIES, STRICT_LANE_ORDER } from '../../shared/priority.js';

/** Yields the lane order string for each claim. */
export interface LaneOrder {
  next(): string;
}

/** Strict priority: high, then normal, then low. */
export const strictLaneOrder: LaneOrder = { next: () => STRICT_LANE_ORDER };

/** Weighted order over weights [high, normal, low] (non-negative integers, not all zero). */
export function weightedLaneOrder(weights: readonly [number, number, number]): LaneOrder {
  const total = weights[0] + weights[1] + weights[2];
  if (total <= 0) throw new TypeError('lane weights must not all be zero');
  const current = [0, 0, 0];
  const orders = PRIORITIES.map((_, first) =>
    [first, ...[0, 1, 2].filter((i) => i !== first)]
      .map((i) => LANE_CODE[PRIORITIES[i] ?? 'normal'])
      .join(''),
  );
  return {
    next() {
      let best = 0;
      for (let i = 0; i < 3; i++) {
        current[i] = (current[i] ?? 0) + (weights[i] ?? 0);
        if ((current[i] ?? 0) > (current[best] ?? 0)) best = i;
      }
      current[best] = (current[best] ?? 0) - total;
      return orders[best] ?? STRICT_LANE_ORDER;
    },
  };
}
