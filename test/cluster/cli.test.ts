/**
 * The `forklift` CLI and `forklift worker` processes on a password-protected 3-master Redis
 * Cluster, with REDIS_URL=redis+cluster://:PASSWORD@h1:p1,h2:p2,h3:p3 as a user would write
 * it: enqueue, stats, status and dead --retry; crash recovery after `kill -9` of a worker host
 * (another host re-runs its tasks, nothing lost); a wrong password or a bad cluster URL fails
 * fast with the password masked. Real servers and processes, nothing mocked.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { tasks } from '../../shared/tasks/index.js';
import { BUILTIN_HANDLERS } from '../../worker-host/host.js';
import { waitFor } from '../support/redis.js';
import { isAlive, poolChildPids } from '../worker/harness.js';
import { clusterSuite, forklift, spawnWorker, withPassword } from './harness.js';

const PASSWORD = `pw-${randomBytes(6).toString('hex')}-Zq`;
const suite = clusterSuite('cluster-cli', { password: PASSWORD });

afterEach(() => suite.clear());

describe('the CLI on a Redis Cluster', () => {
  it('enqueue, status, stats, dead --retry through REDIS_URL=redis+cluster://', async () => {
    const env = suite.cliEnv();
    const enqueued = await forklift(['enqueue', 'square', '{"x":3}'], env);
    expect(enqueued.code, enqueued.stderr).toBe(0);
    const squared = enqueued.stdout.trim();
    const builtin = await suite.startHost({ concurrency: 1, handlersModule: BUILTIN_HANDLERS });
    await suite.waitForState(squared, 'succeeded');
    await builtin.close();
    const done = await forklift(['status', squared], env);
    expect(done.stdout).toMatch(/^state +succeeded$/m);
    expect(done.stdout).toMatch(/^result +9$/m);

    // A fixture type (the CLI knows only the built-in ones), enqueued by the test's client.
    const gate = `${suite.logFile()}.open`;
    const [id] = await suite.enqueueIds([
      { type: 'gate', payload: { open: gate }, maxAttempts: 1 },
    ]);
    if (!id) throw new Error('no id');
    await suite.startHost({ concurrency: 1 });
    await suite.waitForState(id, 'dead');
    const stats = await forklift(['stats', '--json'], env);
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ dead: 1, succeeded: 1 });

    writeFileSync(gate, '');
    const retried = await forklift(['dead', '--retry', id], env);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toBe('retried 1 dead task(s)\n');
    expect(await suite.waitForState(id, 'succeeded')).toMatchObject({ result: 'passed' });
    for (const run of [enqueued, done, stats, retried]) {
      expect(run.stdout + run.stderr).not.toContain(PASSWORD);
    }
  });

  it('kill -9 of a worker host: its children go, another host finishes everything', async () => {
    const xs = [3, 4, 5, 6, 7];
    const ids = await suite.enqueueIds(
      xs.map((x, i) => ({ type: 'square', payload: { x, delayMs: i < 2 ? 1_500 : 100 } })),
      tasks,
    );
    const worker = suite.track(spawnWorker(['--concurrency', '2', '--lease', '1'], suite.cliEnv()));
    const hostId = await waitFor(
      async () => (await suite.redis.zrange(suite.keys.hosts, 0, '-1'))[0],
      { what: `the CLI host to register; output: ${worker.output()}` },
    );
    await waitFor(async () => (await suite.redis.zcard(suite.keys.active)) === 2, {
      what: 'two active tasks',
    });
    const { pid } = JSON.parse(
      (await suite.redis.hget(suite.keys.host(hostId), 'description')) ?? '{}',
    ) as { pid: number };
    const children = poolChildPids(pid);
    expect(children).toHaveLength(2);

    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid) && children.every((child) => !isAlive(child)), {
      what: 'the host and its children to be gone',
    });
    const wasActive = await suite.redis.zrange(suite.keys.active, 0, '-1');
    expect([...wasActive].sort()).toEqual(ids.slice(0, 2).sort());

    await suite.startHost({ concurrency: 2, handlersModule: BUILTIN_HANDLERS, leaseMs: 1_000 });
    const views = await suite.waitForAll(ids);
    for (const [i, view] of views.entries()) {
      expect(view).toMatchObject({ state: 'succeeded', result: (xs[i] ?? 0) ** 2, attempts: 1 });
      expect(view.stalls).toBe(wasActive.includes(view.id) ? 1 : 0);
    }
    expect(worker.output()).not.toContain(PASSWORD);
  });

  it('a wrong password or a bad cluster URL: exit non-zero at once, the password masked', async () => {
    const wrong = `wrong-${PASSWORD}`;
    const refused = await forklift(
      ['stats'],
      suite.cliEnv({ REDIS_URL: withPassword(suite.cluster.url, wrong) }),
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refused the credentials in REDIS_URL');
    expect(refused.stderr).toContain('redis+cluster://:***@127.0.0.1:');
    expect(refused.stdout + refused.stderr).not.toContain(wrong);

    const bad = await forklift(
      ['stats'],
      suite.cliEnv({ REDIS_URL: `redis+cluster://:${PASSWORD}@127.0.0.1:1/3` }),
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('may only name database 0');
    expect(bad.stdout + bad.stderr).not.toContain(PASSWORD);
  });
});
