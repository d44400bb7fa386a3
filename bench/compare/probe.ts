/**
 * The one thing every consumer's handler does besides its work: note when a task starts, so the
 * driver measures every consumer the same way (first task started to last task finished) without
 * a Redis call of its own.
 *
 * Times are `process.hrtime.bigint()` (CLOCK_MONOTONIC), the same clock in every process of the
 * machine, so the driver can subtract a child's start from its own enqueue time. Files go to the
 * directory named by BENCH_PROBE_DIR:
 *
 * - `first-<pid>`: the first start in this process (one write per process);
 * - `starts-<pid>`: with BENCH_PROBE_EVERY=1 (the latency runs), every start, one per line.
 *
 * Without BENCH_PROBE_DIR the probe does nothing.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.BENCH_PROBE_DIR;
const every = process.env.BENCH_PROBE_EVERY === '1';
let firstSeen = false;

/** Notes that a task starts now. Call it first thing in a handler. */
export function taskStarted(): void {
  if (dir === undefined) return;
  const now = process.hrtime.bigint();
  if (every) appendFileSync(join(dir, `starts-${process.pid}`), `${now}\n`);
  if (firstSeen) return;
  firstSeen = true;
  writeFileSync(join(dir, `first-${process.pid}`), String(now));
}

/** Notes that this process has loaded its handlers (a pool child is ready to run tasks). */
export function handlersLoaded(): void {
  if (dir !== undefined) writeFileSync(join(dir, `loaded-${process.pid}`), '');
}
