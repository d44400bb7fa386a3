/**
 * The sharded-queue benchmark must not rot: `npm run bench -- shards --quick --json FILE` starts
 * its own 3-master cluster, runs 1 and 3 shards side by side and measures an idle host on each,
 * and writes a report. Only the shape and sanity of the figures are checked (speed belongs to
 * the benchmark, not to a timed test).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ShardsReport } from '../../bench/shards.js';
import { ROOT, TSX } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'forklift-shards-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench -- shards --quick', () => {
  it('reports throughput for 1 and 3 shards and the idle commands of a host on each', async () => {
    const jsonFile = join(dir, 'shards.json');
    const child = spawn(TSX, ['bench/run.ts', 'shards', '--quick', '--json', jsonFile], {
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
    expect(stdout).toContain('3 shards / 1 shard');
    expect(stdout).toContain('idle host');
    const report = JSON.parse(readFileSync(jsonFile, 'utf8')) as ShardsReport;
    expect(report).toMatchObject({ tasks: 2000, rounds: 1 });
    expect(report.throughput.map((t) => t.shards)).toEqual([1, 3]);
    for (const t of report.throughput) expect(t.tasksPerSecond).toBeGreaterThan(0);
    expect(report.idle.map((i) => i.shards)).toEqual([1, 3]);
    const [one, three] = report.idle;
    // An idle host on K shards sends at most K times what it sends on one (plus a little slack
    // for a window this short).
    expect(three?.commandsPerMinute ?? 0).toBeGreaterThan(0);
    expect(three?.commandsPerMinute ?? 0).toBeLessThanOrEqual(
      3 * (one?.commandsPerMinute ?? 0) + 30,
    );
  }, 180_000);
});
