/** Medians and ranges over rounds, and ratios taken round by round. */

/** A figure over several rounds. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** The median (the mean of the middle two for an even count), min and max of `values`. */
export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}

/** The spread of a/b taken in each round (a and b measured in the same round). */
export function ratioSpread(a: readonly number[], b: readonly number[]): Spread {
  return spread(a.map((value, round) => value / (b[round] as number)));
}
