/** Latency and throughput of a call, measured the same way by every HTTP benchmark. */

/** What `measure` reports. */
export interface Figures {
  /** Calls per second with `concurrency` in flight. */
  rps: number;
  /** Latency (ms) of one call at a time. */
  p50: number;
  p99: number;
}

/** How long each measuring phase lasts, ms. */
export const PHASE_MS = 1_500;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

/**
 * Warms up with `warmup` calls, measures the latency of one call at a time for half a phase,
 * then the throughput with `concurrency` calls in flight for a phase.
 */
export async function measure(
  call: () => Promise<unknown>,
  concurrency: number,
  warmup = 30,
): Promise<Figures> {
  for (let i = 0; i < warmup; i++) await call();
  const latencies: number[] = [];
  const latencyEnd = performance.now() + PHASE_MS / 2;
  while (performance.now() < latencyEnd) {
    const started = performance.now();
    await call();
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  let done = 0;
  const started = performance.now();
  const end = started + PHASE_MS;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await call();
        done++;
      }
    }),
  );
  const rps = done / ((performance.now() - started) / 1000);
  return { rps, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}
