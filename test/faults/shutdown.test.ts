/**
 * Shutdown always ends, even while Redis does not answer: every Redis call of a shutdown has a
 * time limit, and a second signal skips the waits (the CLI then exits 1).
 */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/redis.js';
import { faultSuite } from './support/fault-suite.js';

const suite = faultSuite('shutdown');

describe('shutdown while Redis does not answer', () => {
  it('close() of an in-process host ends', async () => {
    const host = await suite.startHost({ concurrency: 2 });
    const ids = await suite.enqueue([{ x: 2, ms: 100 }]);
    await suite.settled(ids);
    suite.proxy.pause();
    await host.close({ graceMs: 500 });
    expect(host.pids()).toEqual([]);
  }, 30_000);

  it('the CLI: SIGTERM begins a graceful stop, a second SIGTERM forces it (exit 1)', async () => {
    const { child, output } = await suite.spawnHost(['--concurrency', '1', '--grace', '60']);
    const ids = await suite.enqueue([{ x: 3, ms: 30_000 }]);
    await waitFor(() => suite.runs().some((r) => r.id === ids[0]), { what: 'the run to start' });
    suite.proxy.pause();
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(child.exitCode, output()).toBe(null);
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code, output()).toBe(1);
  }, 30_000);
});
