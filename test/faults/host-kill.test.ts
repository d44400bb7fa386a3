/**
 * Faults 2 and 3: a worker host killed with -9. Its prefetched tasks never started, so they go
 * back without spending an attempt (tasks allowed one attempt all succeed); its children die
 * with it within about a second, even one stuck in a synchronous loop, and lease nothing after
 * it is gone; kills at random moments lose nothing and never let two runs of a task overlap.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/redis.js';
import { isAlive, poolChildPids } from '../worker/harness.js';
import { faultSuite } from './support/fault-suite.js';

const suite = faultSuite('host-kill');

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const ACTIVE = 'fault:{default}:active';

describe('kill -9 of a worker host', () => {
  it('with --prefetch: the tasks waiting in line go back unspent, and run', async () => {
    const xs = range(60);
    const ids = await suite.enqueue(xs.map((x) => ({ x, ms: 50, maxAttempts: 1 })));
    const { hostPid } = await suite.spawnHost([
      '--concurrency',
      '1',
      '--prefetch',
      '4',
      '--lease',
      '1',
    ]);
    // One running, four waiting in the child's line.
    await waitFor(async () => (await suite.redis.zcard(ACTIVE)) === 5, { what: 'a full line' });
    const held = await suite.redis.zrange(ACTIVE, '0', '-1');
    const oldChildren = new Set(poolChildPids(hostPid));
    process.kill(hostPid, 'SIGKILL');

    await suite.startHost({ concurrency: 1, prefetch: 4, leaseMs: 1_000 });
    const views = await suite.verify(ids, xs);
    // The host dies a moment after `held` is read: in that moment its child may still end the
    // run it was in (stored: no stall) and lease the next (a stall, though not in `held`). Every
    // held task the old child did not finish stalled once; none more than once; none spent an
    // attempt.
    const endedByOld = new Set(
      suite
        .runs()
        .filter((r) => r.event === 'end' && oldChildren.has(r.pid))
        .map((r) => r.id),
    );
    const unfinished = held.filter((id) => !endedByOld.has(id));
    expect(unfinished.length).toBeGreaterThanOrEqual(3);
    for (const view of views) {
      expect(view.attempts).toBe(1);
      expect(view.stalls).toBeLessThanOrEqual(1);
      if (unfinished.includes(view.id)) expect(view.stalls).toBe(1);
    }
  });

  it('its children die with it, even in a synchronous loop, and lease nothing more', async () => {
    const [spinning, ...rest] = await suite.enqueue([
      { x: 1, ms: 5_000, spin: true, maxAttempts: 1 },
      ...range(20).map((x) => ({ x: x + 2, ms: 300, maxAttempts: 1 })),
    ]);
    if (!spinning) throw new Error('no id');
    const { hostPid } = await suite.spawnHost(['--concurrency', '2', '--lease', '1']);
    await waitFor(() => suite.runs().some((r) => r.id === spinning && r.event === 'start'), {
      what: 'the synchronous run to start',
    });
    const children = poolChildPids(hostPid);
    expect(children).toHaveLength(2);
    const heldAtKill = new Set(await suite.redis.zrange(ACTIVE, '0', '-1'));
    process.kill(hostPid, 'SIGKILL');
    // About a second at most, though one child never yields to its event loop.
    await waitFor(() => children.every((pid) => !isAlive(pid)), {
      timeoutMs: 1_500,
      intervalMs: 20,
      what: 'the children to die with their host',
    });
    // Nothing was leased for the dead host after it died.
    await sleep(300);
    for (const id of await suite.redis.zrange(ACTIVE, '0', '-1'))
      expect(heldAtKill.has(id)).toBe(true);

    await suite.startHost({ concurrency: 2, leaseMs: 1_000 });
    await suite.settled([spinning, ...rest]);
    const o = suite.overlaps();
    if (o.length) {
      console.log('OVERLAPS', JSON.stringify(o));
      for (const x of o) console.log(JSON.stringify(suite.runs().filter((r) => r.id === x.id)));
      console.log(JSON.stringify(suite.logs().filter((l) => l.level >= 40)));
    }
    await suite.verify([spinning, ...rest], [1, ...range(20).map((x) => x + 2)]);
  });

  it('killed three times at random moments: every task succeeds, no run overlaps another', async () => {
    const xs = range(300);
    const ids = await suite.enqueue(
      xs.map((x) => ({ x, ms: 4, maxAttempts: x % 2 === 0 ? 1 : 3 })),
    );
    for (let kill = 0; kill < 3; kill++) {
      const { hostPid } = await suite.spawnHost([
        '--concurrency',
        '2',
        '--prefetch',
        '2',
        '--lease',
        '1',
      ]);
      await sleep(200 + Math.floor(Math.random() * 600));
      process.kill(hostPid, 'SIGKILL');
    }
    await suite.startHost({ concurrency: 2, prefetch: 2, leaseMs: 1_000 });
    const views = await suite.verify(ids, xs);
    for (const view of views) {
      expect(view.attempts).toBe(1);
      expect(view.stalls).toBeLessThanOrEqual(3);
    }
  });
});
