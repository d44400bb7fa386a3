/**
 * Crash recovery (the BullMQ stalled-jobs test, with a real kill): a worker host running as its
 * own OS process is SIGKILLed with tasks active and others queued. Its children exit with it,
 * and a fresh host completes every task with the right result; the tasks that were active
 * show one stall and no extra attempt (losing a host is not a failed attempt).
 */
import { describe, expect, it } from 'vitest';
import { tasks } from '../../shared/tasks/index.js';
import { BUILTIN_HANDLERS } from '../../worker-host/host.js';
import { waitFor } from '../support/redis.js';
import { isAlive, poolChildPids, spawnWorker, workerSuite } from './harness.js';

const suite = workerSuite('crash');

describe('host crash', () => {
  it('kill -9 of a host: its children go, a fresh host finishes everything', async () => {
    const xs = [3, 4, 5, 6, 7];
    // The first two (claimed first) run long enough to be killed mid-run even if one child
    // starts well after the other; the rest wait in the lane.
    const ids = await suite.enqueueIds(
      xs.map((x, i) => ({ type: 'square', payload: { x, delayMs: i < 2 ? 2_500 : 100 } })),
      tasks,
    );
    const worker = suite.track(spawnWorker(['--concurrency', '2', '--lease', '2'], suite.cliEnv()));

    // Two tasks active, the rest queued.
    const hostId = await waitFor(
      async () => (await suite.redis.zrange(suite.keys.hosts, 0, '-1'))[0],
      { what: `the CLI host to register; output: ${worker.output()}` },
    );
    await waitFor(async () => (await suite.redis.zcard(suite.keys.active)) === 2, {
      what: 'two active tasks',
    });
    const description = JSON.parse(
      (await suite.redis.hget(suite.keys.host(hostId), 'description')) ?? '{}',
    ) as { pid: number };
    const hostPid = description.pid;
    const children = poolChildPids(hostPid);
    expect(children).toHaveLength(2);

    process.kill(hostPid, 'SIGKILL');
    // The children notice their host is gone and exit.
    await waitFor(() => !isAlive(hostPid) && children.every((pid) => !isAlive(pid)), {
      what: 'the host and its children to be gone',
    });

    // With no host alive, the active set is exactly what the dead host held.
    const wasActive = await suite.redis.zrange(suite.keys.active, 0, '-1');
    expect([...wasActive].sort()).toEqual(ids.slice(0, 2).sort());
    const stats = await suite.queue.stats();
    expect(stats.lanes.normal).toBe(3);

    await suite.startHost({ concurrency: 2, handlersModule: BUILTIN_HANDLERS, leaseMs: 2_000 });
    const views = await suite.waitForAll(ids);
    for (const [i, view] of views.entries()) {
      expect(view.state).toBe('succeeded');
      expect(view.result).toBe((xs[i] ?? 0) ** 2);
      if (wasActive.includes(view.id)) {
        expect(view).toMatchObject({ attempts: 1, stalls: 1 });
      } else {
        expect(view).toMatchObject({ attempts: 1, stalls: 0 });
      }
    }
  });
});
