/**
 * Graceful shutdown: runs that end within the grace period are stored as succeeded; runs that
 * outlive it (one that honours the abort signal, one that ignores it and is killed) go back to
 * the head of their lane with the attempt refunded; the host unregisters. The CLI does the same
 * on SIGTERM and exits 0.
 */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { FIXTURE_HANDLERS } from '../fixtures/handlers.js';
import { waitFor } from '../support/redis.js';
import { spawnWorker, workerSuite } from './harness.js';

const suite = workerSuite('shutdown');

/** Waits until every id is active. */
async function waitActive(ids: readonly string[]): Promise<void> {
  await waitFor(
    async () => {
      const active = await suite.redis.zrange(suite.keys.active, 0, '-1');
      return ids.every((id) => active.includes(id));
    },
    { what: `tasks ${ids.join(', ')} to be active` },
  );
}

/** Asserts that host `hostId` left nothing behind. */
async function expectUnregistered(hostId: string): Promise<void> {
  expect(await suite.redis.zscore(suite.keys.hosts, hostId)).toBeNull();
  expect(await suite.redis.exists(suite.keys.tokens(hostId), suite.keys.host(hostId))).toBe(0);
  const left = (await suite.allKeys()).filter((key) => key.includes(hostId));
  expect(left).toEqual([]);
}

describe('graceful shutdown', () => {
  it('tasks that finish within the grace period are stored as succeeded', async () => {
    const host = await suite.startHost({ concurrency: 2 });
    const ids = await suite.enqueueIds(
      Array.from({ length: 4 }, () => ({ type: 'sleep', payload: { ms: 800 } })),
    );
    // Close while tasks run (one or two, depending on how fast the children started).
    let running: string[] = [];
    await waitFor(
      async () => {
        running = await suite.redis.zrange(suite.keys.active, 0, '-1');
        return running.length > 0;
      },
      { what: 'a running task' },
    );

    await host.close({ graceMs: 10_000 });

    const views = await Promise.all(ids.map((id) => suite.queue.getTask(id)));
    for (const view of views) {
      if (!view) throw new Error('task vanished');
      if (running.includes(view.id) || view.state === 'succeeded') {
        // Running at close: allowed to finish, and stored.
        expect(view).toMatchObject({ state: 'succeeded', attempts: 1 });
        expect(typeof view.result).toBe('number');
      } else {
        // Never claimed: no new work once shutdown began.
        expect(view).toMatchObject({ state: 'queued', attempts: 0 });
      }
    }
    expect(views.filter((v) => v?.state === 'queued').length).toBeGreaterThan(0);
    await expectUnregistered(host.hostId);
  });

  it('runs past the grace period go back to the head of their lane, attempt refunded', async () => {
    const host = await suite.startHost({ concurrency: 2 });
    const [abortable, stubborn, waiting] = await suite.enqueueIds([
      { type: 'abortable', payload: {} },
      { type: 'sleep', payload: { ms: 60_000 } },
      { type: 'sleep', payload: { ms: 10 } },
    ]);
    if (!abortable || !stubborn || !waiting) throw new Error('no ids');
    await waitActive([abortable, stubborn]);
    for (const id of [abortable, stubborn]) {
      expect(await suite.queue.getTask(id)).toMatchObject({ state: 'active', attempts: 1 });
    }

    // `abortable` ends when its signal fires; `sleep` ignores it and its child is killed.
    await host.close({ graceMs: 200 });

    for (const id of [abortable, stubborn]) {
      const view = await suite.queue.getTask(id);
      expect(view).toMatchObject({ state: 'queued', attempts: 0, stalls: 0, startedAt: null });
    }
    const lane = await suite.redis.lrange(suite.keys.laneNormal, 0, -1);
    expect(lane).toHaveLength(3);
    expect(lane.slice(0, 2).sort()).toEqual([abortable, stubborn].sort());
    expect(lane[2]).toBe(waiting);
    expect(await suite.redis.zcard(suite.keys.active)).toBe(0);
    await expectUnregistered(host.hostId);
  });

  it('the CLI shuts down gracefully on SIGTERM and exits 0', async () => {
    const [running, waiting] = await suite.enqueueIds([
      { type: 'sleep', payload: { ms: 60_000 } },
      { type: 'sleep', payload: { ms: 10 } },
    ]);
    if (!running || !waiting) throw new Error('no ids');
    const worker = suite.track(
      spawnWorker(
        ['--concurrency', '1', '--lease', '2', '--grace', '1', '--handlers', FIXTURE_HANDLERS],
        suite.cliEnv(),
      ),
    );
    await waitActive([running]);
    const hostId = (await suite.queue.getRecord(running))?.host;
    if (!hostId) throw new Error('no host on the active task');

    const exited = once(worker, 'exit');
    worker.kill('SIGTERM');
    const [code] = await exited;
    expect(code, worker.output()).toBe(0);

    expect(await suite.queue.getTask(running)).toMatchObject({ state: 'queued', attempts: 0 });
    expect(await suite.redis.lrange(suite.keys.laneNormal, 0, -1)).toEqual([running, waiting]);
    await expectUnregistered(hostId);
  });
});
