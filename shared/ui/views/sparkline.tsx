/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/**
 * Throughput sparklines, computed on the server from the overview's history: each point is how
 * many tasks a counter grew by between two samples, per minute. Plain SVG (no script, no style
 * attribute), so the CSP holds.
 */
import type { HistorySample } from '../../queue-views.js';

/** A counter of the history. */
export type HistoryCounter = 'enqueued' | 'succeeded' | 'failed' | 'dead';

/** One rate per interval between consecutive samples: tasks per minute (never negative). */
export function ratesPerMinute(history: readonly HistorySample[], counter: HistoryCounter) {
  const rates: { at: number; perMinute: number }[] = [];
  for (let i = 1; i < history.length; i++) {
    const before = history[i - 1] as HistorySample;
    const after = history[i] as HistorySample;
    const ms = after.at - before.at;
    if (ms <= 0) continue;
    const grew = Math.max(0, after[counter] - before[counter]);
    rates.push({ at: after.at, perMinute: (grew * 60_000) / ms });
  }
  return rates;
}

const WIDTH = 240;
const HEIGHT = 48;

/** The polyline points of `values` scaled into the box (a flat line when there is no data). */
export function sparkPoints(values: readonly number[]): string {
  if (values.length === 0) return `0,${HEIGHT - 1} ${WIDTH},${HEIGHT - 1}`;
  const max = Math.max(...values, 1);
  const step = values.length > 1 ? WIDTH / (values.length - 1) : WIDTH;
  const points = values.map((v, i) => {
    const x = values.length > 1 ? i * step : WIDTH;
    const y = HEIGHT - 1 - (v / max) * (HEIGHT - 4);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  return values.length === 1 ? `0,${points[0]?.split(',')[1]} ${points[0]}` : points.join(' ');
}

/** A labelled sparkline of one counter's rate. */
export function Sparkline(props: {
  history: readonly HistorySample[];
  counter: HistoryCounter;
  label: string;
  testId: string;
}) {
  const rates = ratesPerMinute(props.history, props.counter);
  const values = rates.map((r) => r.perMinute);
  const last = values.at(-1);
  const points = sparkPoints(values);
  const area = `0,${HEIGHT} ${points} ${WIDTH},${HEIGHT}`;
  const summary =
    last === undefined
      ? 'not enough samples yet'
      : `${last < 10 ? last.toFixed(1) : Math.round(last)} per minute`;
  return (
    <div class="stat chart">
      <span class="label">{props.label}</span>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`${props.label}: ${summary}`}
        data-testid={props.testId}
        data-points={String(values.length)}
      >
        <title>{`${props.label}: ${summary}`}</title>
        <polygon class="spark-area" points={area} />
        <polyline class="spark-line" points={points} />
      </svg>
      <span class="sub">{summary}</span>
    </div>
  );
}
