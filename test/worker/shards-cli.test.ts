/**
 * The CLI on a sharded queue (FORKLIFT_SHARDS=3) on one Redis: enqueue, status and stats see the
 * whole queue; a worker of the same count runs the tasks; a command of another count fails
 * naming the queue's count; a bad FORKLIFT_SHARDS is refused before anything is written.
 */
import { describe, expect, it } from 'vitest';
import { shardOfId } from '../../shared/shards.js';
import { readCliEnv } from '../../worker-host/cli/env.js';
import { forklift, workerSuite } from './harness.js';

const suite = workerSuite('shards-cli');

describe('forklift with FORKLIFT_SHARDS', () => {
  it('refuses a bad FORKLIFT_SHARDS, naming it', async () => {
    for (const bad of ['0', '65', 'three', '1.5']) {
      expect(() => readCliEnv({ FORKLIFT_SHARDS: bad })).toThrow(
        /FORKLIFT_SHARDS=.* must be an integer from 1 to 64/,
      );
    }
    expect(readCliEnv({}).shards).toBe(1);
    expect(readCliEnv({ FORKLIFT_SHARDS: '3' }).shards).toBe(3);
    const run = await forklift(['stats'], suite.cliEnv({ FORKLIFT_SHARDS: 'x' }));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/FORKLIFT_SHARDS="x"/);
  });

  it('enqueue, status and stats on 3 shards; a command of another count fails', async () => {
    const env = suite.cliEnv({ FORKLIFT_SHARDS: '3' });
    const ids: string[] = [];
    for (let x = 0; x < 6; x++) {
      const run = await forklift(['enqueue', 'square', `{"x":${x}}`], env);
      expect(run.code, run.stderr).toBe(0);
      ids.push(run.stdout.trim());
    }
    for (const id of ids) expect(shardOfId(3, id)).toBeGreaterThanOrEqual(0);
    const status = await forklift(['status', ids[0] ?? '', '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id: ids[0], state: 'queued' });
    const stats = await forklift(['stats', '--json'], env);
    expect(JSON.parse(stats.stdout)).toMatchObject({ lanes: { normal: 6 } });

    const wrong = await forklift(
      ['enqueue', 'square', '{"x":1}'],
      suite.cliEnv({ FORKLIFT_SHARDS: '2' }),
    );
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(
      /declared with 3 shard\(s\), but this client uses 2: set FORKLIFT_SHARDS=3/,
    );
    const plain = await forklift(['enqueue', 'square', '{"x":1}'], suite.cliEnv());
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/declared with 3 shard\(s\), but this client uses 1/);
  });
});
