/**
 * The CLI on a sharded queue (FORKLIFT_SHARDS=3) on one Redis: enqueue, status and stats see the
 * whole queue; a worker of the same count runs the tasks; a command of another count fails
 * naming the queue's count; a bad FORKLIFT_SHARDS is refused before anything is written; a
 * `forklift worker` of 3 shards killed with -9 mid-run has its tasks on every shard recovered by
 * another host (reaped as stalls, per shard).
 */
import { describe, expect, it } from 'vitest';
import { prepareBatch } from '../../shared/enqueue-request.js';
import { QueueClient } from '../../shared/queue-client.js';
import { placeTask, shardOfId } from '../../shared/shards.js';
import { tasks } from '../../shared/tasks/index.js';
import { readCliEnv } from '../../worker-host/cli/env.js';
import { BUILTIN_HANDLERS } from '../../worker-host/host.js';
import { ioredisTransport } from '../../worker-host/redis/ioredis-transport.js';
import { waitFor } from '../support/redis.js';
import { forklift, isAlive, spawnWorker, workerSuite } from './harness.js';

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

  it('kill -9 of a worker on 3 shards: another host recovers what it held on every shard', async () => {
    const client = new QueueClient(ioredisTransport(suite.redis), {
      namespace: suite.namespace,
      shards: 3,
    });
    // One task per shard (idempotency keys picked by their shard), long enough to be running
    // when the host dies.
    const keys: string[] = [];
    for (let n = 0; keys.length < 3; n++) {
      const key = `crash-${n}`;
      if (placeTask(3, '', key) === keys.length) keys.push(key);
    }
    const prepared = prepareBatch(
      tasks,
      keys.map((idempotencyKey, x) => ({
        type: 'square',
        payload: { x, delayMs: 3_000 },
        idempotencyKey,
      })),
    );
    if (!prepared.ok) throw new Error('invalid');
    const ids = (await client.enqueue(prepared.specs)).map((r) => r.id);
    expect(ids.map((id) => shardOfId(3, id))).toEqual([0, 1, 2]);
    const worker = suite.track(
      spawnWorker(['--concurrency', '3', '--lease', '2'], suite.cliEnv({ FORKLIFT_SHARDS: '3' })),
    );
    await waitFor(async () => (await client.stats()).active === 3, {
      what: `three active tasks; output: ${worker.output()}`,
    });
    const hostId = (await suite.redis.zrange(client.shardKeys[0]?.hosts ?? '', 0, '-1'))[0] ?? '';
    const description = JSON.parse(
      (await suite.redis.hget(client.shardKeys[0]?.host(hostId) ?? '', 'description')) ?? '{}',
    ) as { pid: number };
    process.kill(description.pid, 'SIGKILL');
    await waitFor(() => !isAlive(description.pid), { what: 'the host to be gone' });

    await suite.startHost({ shards: 3, concurrency: 3, handlersModule: BUILTIN_HANDLERS });
    await waitFor(async () => (await client.stats()).succeeded === 3, {
      timeoutMs: 40_000,
      what: 'every task to succeed',
    });
    const views = await Promise.all(ids.map((id) => client.getTask(id)));
    expect(views.map((v) => [v?.state, v?.stalls, v?.attempts])).toEqual(
      Array(3).fill(['succeeded', 1, 1]),
    );
  }, 60_000);
});
