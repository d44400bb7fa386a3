/**
 * Prometheus metrics: a host started with `metricsPort` serves GET /metrics with its runs by
 * type and outcome, their durations, the queue's tasks by state (read from Redis) and its live
 * children. Children report the runs they settle themselves a few ms late, so the counts are
 * awaited rather than read once.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/redis.js';
import { workerSuite } from './harness.js';

const suite = workerSuite('metrics');

async function scrape(port: number | undefined): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

describe('metrics', () => {
  it('counts runs by outcome and reports the queue and the pool', async () => {
    const host = await suite.startHost({ concurrency: 2, metricsPort: 0 });
    const ids = await suite.enqueueIds([
      { type: 'sleep', payload: { ms: 1 } },
      { type: 'sleep', payload: { ms: 1 } },
      { type: 'throw', payload: { message: 'no' }, maxAttempts: 1 },
    ]);
    await suite.waitForAll(ids);
    await suite.enqueue([{ type: 'sleep', payload: { ms: 1 }, delaySeconds: 60 }]);

    const succeeded = /forklift_runs_total\{queue="default",type="sleep",outcome="succeeded"\} 2/;
    const text = await waitFor(
      async () => {
        const page = await scrape(host.metricsPort);
        return succeeded.test(page) ? page : undefined;
      },
      { what: 'the two successes in the metrics' },
    );
    expect(text).toMatch(/forklift_runs_total\{queue="default",type="throw",outcome="failed"\} 1/);
    expect(text).toMatch(/forklift_run_duration_seconds_count\{queue="default",type="sleep"\} 2/);
    expect(text).toMatch(/forklift_queue_tasks\{queue="default",state="delayed"\} 1/);
    expect(text).toMatch(/forklift_queue_tasks\{queue="default",state="queued_normal"\} 0/);
    expect(text).toMatch(/forklift_pool_children\{queue="default"\} 2/);
    expect(text).toMatch(/process_cpu_user_seconds_total/);

    const missing = await fetch(`http://127.0.0.1:${host.metricsPort}/nope`);
    expect(missing.status).toBe(404);
  });
});
