/**
 * A host's vital signs reach its host hash: `hostVitals` reads live children and RSS (the host's
 * and each child's from /proc), and the upkeep's heartbeat records them with the last beat time,
 * which the overview then shows.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { HostScripts } from '../../worker-host/engine/host-scripts.js';
import { startUpkeep } from '../../worker-host/upkeep.js';
import { hostVitals } from '../../worker-host/vitals.js';
import { waitFor } from '../support/redis.js';
import { engineSuite } from './harness.js';

const suite = engineSuite('host-vitals');

describe('host vital signs', () => {
  it("count the children and add each child's RSS to the host's", async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], {
      stdio: 'ignore',
    });
    try {
      await once(child, 'spawn');
      const own = await hostVitals([]);
      expect(own.children).toBe(0);
      expect(own.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
      const both = await hostVitals([child.pid ?? 0]);
      expect(both.children).toBe(1);
      // A Node child holds more than a few MiB resident (read from /proc on Linux).
      expect(both.rssBytes - process.memoryUsage.rss()).toBeGreaterThan(5 * 1024 * 1024);
      // A pid that is gone adds nothing, and fails nothing.
      expect((await hostVitals([2 ** 22 + 7])).children).toBe(1);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it("are recorded by the upkeep's heartbeat and shown by the overview", async () => {
    const q = suite.queue();
    const scripts = new HostScripts(q.redis, q.keys, 'h1');
    await scripts.load();
    await scripts.register(60_000, { hostname: 'box', pid: 7, concurrency: 2, prefetch: 0 }, [
      '0.0',
      '1.0',
    ]);
    const pending: Promise<unknown>[] = [];
    const stop = startUpkeep({
      scripts,
      leases: () => [],
      holds: () => false,
      tokens: ['0.0', '1.0'],
      leaseMs: 30_000,
      tickMs: 60_000,
      hostTtlMs: 60_000,
      log: pino({ level: 'silent' }),
      track: (p) => pending.push(p),
      vitals: async () => ({ children: 2, rssBytes: 99_000_000 }),
    });
    try {
      await Promise.all(pending);
      const host = await waitFor(async () => {
        const { hosts } = await q.client.overview();
        return hosts.find((h) => h.children === 2);
      });
      expect(host).toMatchObject({
        id: 'h1',
        hostname: 'box',
        pid: 7,
        concurrency: 2,
        prefetch: 0,
        children: 2,
        rssBytes: 99_000_000,
        slots: { free: 2, busy: 0, prefetched: 0 },
      });
      expect(host.lastHeartbeatAt).toBeGreaterThanOrEqual(host.startedAt ?? 0);
    } finally {
      stop();
    }
  });
});
