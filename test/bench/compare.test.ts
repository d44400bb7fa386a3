/**
 * The benchmark comparison must not rot: `npm run bench -- compare --quick --json FILE` runs
 * every consumer, producer and latency measurement once, small, on its own private redis-server,
 * and writes a report scripts can read. Only the shape and sanity of the figures are checked
 * here (speed belongs to the benchmark, not to a timed test).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from '../../bench/compare/report.js';
import { ROOT, TSX } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'forklift-compare-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench -- compare --quick', () => {
  it('measures every consumer, producer and latency row and writes them as JSON', async () => {
    const jsonFile = join(dir, 'compare.json');
    const child = spawn(TSX, ['bench/run.ts', 'compare', '--quick', '--json', jsonFile], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const [code] = await once(child, 'exit');
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('consumers, tasks enqueued before launch');
    expect(stdout).toContain('consumers, tasks enqueued while running');
    expect(stdout).toContain('targets (benchmark issue; not timed tests)');

    const report = JSON.parse(readFileSync(jsonFile, 'utf8')) as Report;
    expect(report.setup).toMatchObject({ quick: true, rounds: 1, tasks: 1000 });
    const consumers = report.rows.filter((r) => r.kind === 'consumer');
    expect(consumers.map((r) => `${r.id}:${r.scenario}`).sort()).toEqual(
      [
        'bare-pool',
        'bullmq-inprocess',
        'bullmq-sandboxed',
        'forklift-prefetch16',
        'forklift-strict',
      ].flatMap((id) => [`${id}:live`, `${id}:prefilled`]),
    );
    for (const row of consumers) {
      expect(row.tasksPerSecond, row.name).toBeGreaterThan(0);
      expect(Object.keys(row.ratios).sort()).toEqual([
        'bare-pool',
        'bullmq-inprocess',
        'bullmq-sandboxed',
      ]);
      for (const ratio of Object.values(row.ratios)) expect(Number.isFinite(ratio)).toBe(true);
      expect(row.treeCpuMicrosPerTask, row.name).toBeGreaterThan(0);
      expect(row.peakRssMiB, row.name).toBeGreaterThan(10);
      expect(row.commandsPerTask, row.name).toBeGreaterThan(0);
    }
    // A peer compared with itself is 1 in every round.
    const bare = consumers.find((r) => r.id === 'bare-pool');
    expect(bare?.ratios['bare-pool']).toBe(1);
    // The bare pool runs no scripts; Forklift's work happens inside them.
    expect(bare?.scriptCallsPerTask).toBe(0);
    expect(consumers.find((r) => r.id === 'forklift-strict')?.scriptCallsPerTask).toBeGreaterThan(
      1,
    );

    const producers = report.rows.filter((r) => r.kind === 'producer');
    expect(producers.map((r) => r.id).sort()).toEqual([
      'bullmq-batch',
      'bullmq-single',
      'forklift-batch',
      'forklift-single',
    ]);
    for (const row of producers) expect(row.tasksPerSecond).toBeGreaterThan(0);
    for (const row of report.rows.filter((r) => r.kind === 'memory'))
      expect(row.bytesPerTask).toBeGreaterThan(50);
    const latency = report.rows.filter((r) => r.kind === 'latency');
    expect(latency).toHaveLength(2);
    for (const row of latency) {
      expect(row.p50Ms).toBeGreaterThan(0);
      expect(row.p99Ms).toBeGreaterThanOrEqual(row.p50Ms as number);
    }
    expect(report.targets).toHaveLength(11);
  }, 180_000);
});
