/**
 * Redis restarted (SIGKILL, then started again from its append-only file, fsynced on every
 * write) while tasks flow: calls in flight at the kill lose their replies and are sent again,
 * the scripts are loaded again, and every task still succeeds exactly as it should.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/redis.js';
import { faultSuite } from './support/fault-suite.js';

const suite = faultSuite('redis-restart', { appendonly: true });

describe('Redis restarts with appendonly yes', () => {
  it('mid-flow, twice, with prefetch: nothing lost, nothing run twice at once', async () => {
    const xs = Array.from({ length: 300 }, (_, i) => i);
    const ids = await suite.enqueue(
      xs.map((x) => ({ x, ms: 3, maxAttempts: x % 3 === 0 ? 1 : 3 })),
    );
    await suite.startHost({ concurrency: 2, prefetch: 4, leaseMs: 2_000 });
    for (const threshold of [50, 150]) {
      await waitFor(
        async () =>
          Number(await suite.redis.hget('fault:{default}:stats', 'succeeded')) > threshold,
        { what: `${threshold} runs` },
      );
      await suite.server.restart();
      await sleep(200);
    }
    const views = await suite.verify(ids, xs);
    for (const view of views) expect(view.stalls).toBe(0);
  });
});
