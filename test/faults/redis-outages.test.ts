/**
 * Fault 4 and its kin: Redis frozen (SIGSTOP) for longer than the lease, and Redis hung behind a
 * network that holds every byte. A host whose heartbeat is current keeps its leases through a
 * pause of up to twice the lease: nothing is reaped, every run that finishes is stored once, and
 * no lease is reported lost.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/redis.js';
import { faultSuite } from './support/fault-suite.js';

const suite = faultSuite('redis-outages');

const ACTIVE = 'fault:{default}:active';

describe('Redis stops answering for longer than the lease', () => {
  it('frozen 5 s with a 3 s lease: the host keeps its leases; runs are stored once', async () => {
    const xs = [1, 2, 3, 4, 5, 6];
    const ids = await suite.enqueue(xs.map((x) => ({ x, ms: 2_000, maxAttempts: 1 })));
    await suite.startHost({ concurrency: 2, leaseMs: 3_000 });
    await waitFor(async () => (await suite.redis.zcard(ACTIVE)) === 2, { what: 'two runs' });
    suite.server.stop();
    await sleep(5_000);
    suite.server.cont();
    const views = await suite.verify(ids, xs);
    for (const view of views) expect(view).toMatchObject({ attempts: 1, stalls: 0 });
    expect(suite.runs().filter((r) => r.event === 'start')).toHaveLength(6);
    expect(suite.logs().filter((l) => /lost/.test(l.msg))).toEqual([]);
  });

  it('a network that hangs 4 s with a 2 s lease, prefetch 4: the same', async () => {
    const xs = Array.from({ length: 100 }, (_, i) => i);
    const ids = await suite.enqueue(xs.map((x) => ({ x, ms: 20, maxAttempts: 1 })));
    await suite.startHost({ concurrency: 2, prefetch: 4, leaseMs: 2_000 });
    await waitFor(
      async () => Number(await suite.redis.hget('fault:{default}:stats', 'succeeded')) > 10,
      {
        what: 'some runs',
      },
    );
    suite.proxy.pause();
    await sleep(4_000);
    suite.proxy.resume();
    const views = await suite.verify(ids, xs);
    for (const view of views) expect(view).toMatchObject({ attempts: 1, stalls: 0 });
    expect(suite.logs().filter((l) => /lost/.test(l.msg))).toEqual([]);
  });
});
