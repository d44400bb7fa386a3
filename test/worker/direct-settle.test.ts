/**
 * Direct settling: a busy child ends its runs and leases its next task on a Redis connection of
 * its own, and tells the host before every run it starts, so the host times a run it never
 * handed out. These tests make a child lease a task itself (a quick high task first, the
 * interesting one next, with concurrency 1) and then hang, die or block in it, or make Redis
 * refuse the child's write.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { prepareBatch } from '../../shared/enqueue-request.js';
import { QueueClient } from '../../shared/queue-client.js';
import { startWorkerHost } from '../../worker-host/host.js';
import { ioredisTransport } from '../../worker-host/redis/ioredis-transport.js';
import { FIXTURE_HANDLERS, fixtureTasks } from '../fixtures/handlers.js';
import { startThrowawayRedis } from '../support/gateway.js';
import { waitFor } from '../support/redis.js';
import { readRecords, workerSuite } from './harness.js';

const suite = workerSuite('direct-settle');

/** A quick task the host hands over, so the child leases the next one itself. */
const QUICK = { type: 'spin', payload: { ms: 0 }, priority: 'high' } as const;

describe('direct settling', () => {
  it('children store their runs on their own connections, one task at a time each', async () => {
    const host = await suite.startHost({ concurrency: 2 });
    const childConnections = async () => {
      const clients = (await suite.redis.client('LIST')) as string;
      const names = [...clients.matchAll(/ name=(\S+)/g)].map((m) => m[1]);
      return names.filter((n) => n === `forklift:${host.hostId}:child`).length;
    };
    await waitFor(async () => (await childConnections()) === 2, {
      what: 'a Redis connection per child',
    });

    const file = suite.logFile();
    const ids = await suite.enqueueIds(
      Array.from({ length: 40 }, (_, i) => ({ type: 'record', payload: { file, tag: `t${i}` } })),
    );
    const views = await suite.waitForAll(ids);
    expect(views.map((v) => `${v.state}/${v.attempts}`)).toEqual(ids.map(() => 'succeeded/1'));
    // Each child ran its tasks one after another: no two runs of one pid overlap.
    const byPid = new Map<number, { start: number; end: number }[]>();
    for (const r of readRecords(file)) byPid.set(r.pid, [...(byPid.get(r.pid) ?? []), r]);
    for (const runs of byPid.values()) {
      runs.sort((a, b) => a.start - b.start);
      for (let i = 1; i < runs.length; i++)
        expect(runs[i]?.start).toBeGreaterThanOrEqual(runs[i - 1]?.end ?? 0);
    }
  });

  it('a task a child leased itself and hangs in (synchronously) meets its own timeout', async () => {
    await suite.startHost({ concurrency: 1 });
    const [quick, hang] = await suite.enqueueIds([
      QUICK,
      { type: 'hang', payload: { busy: true }, timeoutMs: 400, maxAttempts: 1 },
    ]);
    if (!quick || !hang) throw new Error('no ids');
    const view = await suite.waitForState(hang, 'dead');
    expect(view.attempts).toBe(1);
    expect(view.error).toBe('TimeoutError: timed out after 400 ms (the child process was killed)');
    // The quick task was stored before the hang and stays stored.
    expect((await suite.queue.getTask(quick))?.state).toBe('succeeded');
  });

  it('a child that dies in a task it leased itself fails that task', async () => {
    await suite.startHost({ concurrency: 1 });
    const [quick, exits] = await suite.enqueueIds([
      QUICK,
      { type: 'spin', payload: { ms: 0, exitCode: 3 }, maxAttempts: 1 },
    ]);
    if (!quick || !exits) throw new Error('no ids');
    const view = await suite.waitForState(exits, 'dead');
    expect(view.attempts).toBe(1);
    expect(view.error).toBe('ChildExitError: child process exited (code 3) while running the task');
    expect((await suite.queue.getTask(quick))?.state).toBe('succeeded');
  });

  it('a record a child leased itself that does not decode ends dead; the child goes on', async () => {
    await suite.startHost({ concurrency: 1 });
    const [quick, bad, after] = await suite.enqueueIds([
      QUICK,
      { type: 'spin', payload: { ms: 0 } },
      { type: 'spin', payload: { ms: 0 } },
    ]);
    if (!quick || !bad || !after) throw new Error('no ids');
    await suite.redis.hset(suite.keys.task(bad), 'payload', '{"ms": oops');
    expect((await suite.waitForState(after, 'succeeded')).attempts).toBe(1);
    const [state, error] = await suite.redis.hmget(suite.keys.task(bad), 'state', 'error');
    expect(state).toBe('dead');
    expect(error).toMatch(
      /^CorruptRecordError: corrupted record for task .+: payload is not valid JSON$/,
    );
  });

  it('a long synchronous run a child leased itself keeps its lease', async () => {
    // Lease 1.2 s, renewed every 400 ms; reaping every 200 ms would take an unrenewed lease.
    await suite.startHost({ concurrency: 1, leaseMs: 1_200, tickMs: 200 });
    const [, long] = await suite.enqueueIds([QUICK, { type: 'spin', payload: { ms: 3_000 } }]);
    if (!long) throw new Error('no id');
    const view = await suite.waitForState(long, 'succeeded');
    expect(view.attempts).toBe(1);
    const record = await suite.redis.hgetall(suite.keys.task(long));
    expect({ claims: record.claims, stalls: record.stalls ?? '0' }).toEqual({
      claims: '1',
      stalls: '0',
    });
  });
});

describe('direct settling when Redis refuses writes', () => {
  it('a child that cannot store its run sends the same call again until Redis takes it', async () => {
    // A Redis of its own: this test makes it refuse every write for a while.
    const server = await startThrowawayRedis();
    const redis = new Redis(server.url);
    const queue = new QueueClient(ioredisTransport(redis), { namespace: 'refused' });
    const host = await startWorkerHost({
      redisUrl: server.url,
      namespace: 'refused',
      concurrency: 1,
      handlersModule: FIXTURE_HANDLERS,
      logger: pino({ level: 'silent' }),
    });
    try {
      const prepared = prepareBatch(fixtureTasks, [{ type: 'sleep', payload: { ms: 1_000 } }]);
      if (!prepared.ok) throw new Error('invalid task');
      const [created] = await queue.enqueue(prepared.specs);
      if (!created) throw new Error('no id');
      await waitFor(async () => (await queue.getTask(created.id))?.state === 'active', {
        what: 'the task to run',
      });
      // The run ends while every write is refused (out of memory, noeviction).
      await redis.config('SET', 'maxmemory', '1');
      await new Promise((r) => setTimeout(r, 1_500));
      expect((await queue.getTask(created.id))?.state).toBe('active');
      await redis.config('SET', 'maxmemory', '0');
      const view = await waitFor(
        async () => {
          const task = await queue.getTask(created.id);
          return task?.state === 'succeeded' ? task : undefined;
        },
        { what: 'the run to be stored' },
      );
      expect(view.attempts).toBe(1);
      expect((await queue.stats()).succeeded).toBe(1);
    } finally {
      await host.close({ force: true, graceMs: 0 });
      redis.disconnect();
      await server.kill();
    }
  });
});
