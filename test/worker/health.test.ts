/**
 * Health endpoints and giving up after a Redis outage. A host started with `metricsPort` serves
 * `GET /healthz` (its event loop is not stuck; never asks Redis) and `GET /readyz` (Redis answers,
 * a child is up, the host is registered and not shutting down: 503 naming each check that fails)
 * beside `/metrics`. Outages are made by killing a throwaway redis-server of the test's own (the
 * shared Redis is never stopped). `forklift worker --exit-after-outage S` kills its children and
 * exits with code 75 once Redis has been unreachable for S seconds; a bad value is refused at
 * start, naming the flag. Timings are only bounded waits.
 */
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EventLoopWatch,
  type LivenessReport,
  type ReadinessReport,
  RedisContact,
} from '../../worker-host/health.js';
import { resolveWorkerOptions } from '../../worker-host/worker-options.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../support/gateway.js';
import { waitFor } from '../support/redis.js';
import { forklift, isAlive, poolChildPids, spawnWorker, workerSuite } from './harness.js';

const suite = workerSuite('health');

const throwaways: ThrowawayRedis[] = [];
/** A redis-server of this file's own, killed after the file (after the hosts are closed). */
async function throwawayRedis(): Promise<ThrowawayRedis> {
  const server = await startThrowawayRedis();
  throwaways.push(server);
  return server;
}
afterAll(async () => {
  await Promise.all(throwaways.splice(0).map((server) => server.kill()));
});

interface Answer<T> {
  status: number;
  type: string | null;
  body: T;
}

async function get<T>(port: number | undefined, path: string): Promise<Answer<T>> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    body: (await res.json()) as T,
  };
}

const healthz = (port: number | undefined) => get<LivenessReport>(port, '/healthz');
const readyz = (port: number | undefined) => get<ReadinessReport>(port, '/readyz');

/** Polls /readyz until `wanted` holds for an answer; returns that answer. */
function readyzUntil(
  port: number | undefined,
  wanted: (answer: Answer<ReadinessReport>) => boolean,
  what: string,
  { timeoutMs = 15_000, intervalMs = 50 } = {},
): Promise<Answer<ReadinessReport>> {
  let last: Answer<ReadinessReport> | undefined;
  return waitFor(
    async () => {
      last = await readyz(port);
      return wanted(last) ? last : undefined;
    },
    { timeoutMs, intervalMs, what: `${what}; last /readyz: ${JSON.stringify(last)}` },
  );
}

describe('GET /healthz and GET /readyz', () => {
  it('answer 200 with JSON once the host is up, and /readyz 503 once it shuts down', async () => {
    const host = await suite.startHost({ concurrency: 2, metricsPort: 0 });

    const live = await healthz(host.metricsPort);
    expect(live.status).toBe(200);
    expect(live.type).toBe('application/json');
    expect(live.body).toMatchObject({ status: 'ok', host: host.hostId });
    expect(live.body.eventLoopLagMs).toBeGreaterThanOrEqual(0);

    const ready = await readyzUntil(
      host.metricsPort,
      (a) => a.status === 200 && a.body.checks.children.live === 2,
      'both children up',
    );
    expect(ready.type).toBe('application/json');
    expect(ready.body).toMatchObject({
      status: 'ready',
      host: host.hostId,
      checks: {
        redis: { ok: true },
        children: { ok: true, live: 2, of: 2 },
        registered: { ok: true },
        running: { ok: true },
      },
    });
    expect(ready.body.checks.redis.sinceAnswerMs).toBeGreaterThanOrEqual(0);
    expect(ready.body.checks.registered.sinceBeatMs).toBeGreaterThanOrEqual(0);

    // /metrics is still there, on the same port.
    const metrics = await fetch(`http://127.0.0.1:${host.metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/forklift_pool_children\{queue="default"\} 2/);

    // Shutting down: not ready while the running task may still finish.
    const [id] = await suite.enqueueIds([{ type: 'sleep', payload: { ms: 1_500 } }]);
    await suite.waitForState(id ?? '', 'active');
    const closed = host.close({ graceMs: 10_000 });
    const stopping = await readyzUntil(host.metricsPort, (a) => a.status === 503, 'not ready');
    expect(stopping.body).toMatchObject({
      status: 'not ready',
      checks: { running: { ok: false, reason: 'shutting down: no new tasks' } },
    });
    await closed;
    expect((await suite.queue.getTask(id ?? ''))?.state).toBe('succeeded');
  });

  it('/readyz is 503 naming Redis while it is down (/healthz stays 200), and 200 once it is back', async () => {
    const redis = await throwawayRedis();
    const host = await suite.startHost({ redisUrl: redis.url, concurrency: 1, metricsPort: 0 });
    await readyzUntil(host.metricsPort, (a) => a.status === 200, 'ready');

    await redis.kill();
    const down = await readyzUntil(
      host.metricsPort,
      (a) => a.status === 503 && !a.body.checks.redis.ok,
      'not ready for want of Redis',
    );
    expect(down.body.status).toBe('not ready');
    expect(down.body.checks.redis.reason).toMatch(/^unreachable for [\d.]+ s \(last answer /);
    expect(down.body.checks.children).toMatchObject({ ok: true, live: 1, of: 1 });
    // Liveness never asks Redis.
    const live = await healthz(host.metricsPort);
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('ok');

    await redis.restart();
    const back = await readyzUntil(host.metricsPort, (a) => a.status === 200, 'ready again', {
      timeoutMs: 20_000,
    });
    expect(back.body.checks).toMatchObject({ redis: { ok: true }, registered: { ok: true } });
  });

  it('/readyz is 503 while no child is up, until the killed one is replaced', async () => {
    const host = await suite.startHost({ concurrency: 1, metricsPort: 0 });
    await readyzUntil(host.metricsPort, (a) => a.status === 200, 'ready');
    const [pid] = host.pids();
    if (pid === undefined) throw new Error('no child');

    process.kill(pid, 'SIGKILL');
    const down = await readyzUntil(
      host.metricsPort,
      (a) => a.status === 503,
      'not ready while the child is down',
      { intervalMs: 5 },
    );
    expect(down.body.checks).toMatchObject({
      redis: { ok: true },
      children: { ok: false, live: 0, of: 1, reason: 'no child is up (0 of 1 ready)' },
    });

    const back = await readyzUntil(host.metricsPort, (a) => a.status === 200, 'a new child');
    expect(back.body.checks.children).toMatchObject({ ok: true, live: 1, of: 1 });
    expect(host.pids()).not.toContain(pid);
  });

  it('the event-loop watch counts the loop as stuck while it runs behind', async () => {
    const watch = new EventLoopWatch(200, 50);
    try {
      expect(watch.report('h').status).toBe('ok');
      const until = Date.now() + 400;
      while (Date.now() < until) {
        // block the event loop
      }
      const stuck = watch.report('h');
      expect(stuck).toMatchObject({ status: 'stuck', host: 'h' });
      expect(stuck.eventLoopLagMs).toBeGreaterThan(200);
      expect(stuck.reason).toMatch(/^the event loop runs [\d.]+ s behind \(more than 0.2 s\)$/);
      await waitFor(() => watch.report('h').status === 'ok', { what: 'the loop to catch up' });
    } finally {
      watch.stop();
    }
  });

  it('Redis contact: a failure puts Redis out until it answers; an error reply is an answer', async () => {
    const contact = new RedisContact(60_000);
    expect(contact.state()).toMatchObject({ out: false, outageMs: 0 });
    contact.failed(new Error('connect ECONNREFUSED'));
    expect(contact.state()).toMatchObject({ out: true, lastError: 'connect ECONNREFUSED' });
    const replyError = Object.assign(new Error('OOM command not allowed'), { name: 'ReplyError' });
    await contact.observe(Promise.reject(replyError)).catch(() => {});
    expect(contact.state()).toMatchObject({ out: false, lastError: undefined });
    await contact.observe(Promise.reject(new Error('Connection is closed.'))).catch(() => {});
    expect(contact.state()).toMatchObject({ out: true, lastError: 'Connection is closed.' });
    await contact.observe(Promise.resolve(1));
    expect(contact.state().out).toBe(false);
  });
});

describe('forklift worker --exit-after-outage', () => {
  it('exits with code 75 after S seconds without Redis, its children gone, saying why', async () => {
    const redis = await throwawayRedis();
    const probe = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    probe.on('error', () => {});
    try {
      const worker = suite.track(
        spawnWorker(
          ['--concurrency', '2', '--exit-after-outage', '2'],
          suite.cliEnv({ REDIS_URL: redis.url }),
        ),
      );
      const hostId = await waitFor(async () => (await probe.zrange(suite.keys.hosts, 0, '-1'))[0], {
        what: `the CLI host to register; output: ${worker.output()}`,
      });
      const description = JSON.parse(
        (await probe.hget(suite.keys.host(hostId), 'description')) ?? '{}',
      ) as { pid: number };
      const hostPid = description.pid;
      const children = await waitFor(
        () => {
          const pids = poolChildPids(hostPid);
          return pids.length === 2 ? pids : undefined;
        },
        { what: 'two pool children' },
      );
      probe.disconnect();

      const exited = once(worker, 'exit');
      await redis.kill();
      const [code] = (await Promise.race([
        exited,
        new Promise((_, reject) =>
          setTimeout(
            () => reject(new Error(`the worker did not exit; output: ${worker.output()}`)),
            20_000,
          ),
        ),
      ])) as [number | null];
      expect(code, worker.output()).toBe(75);
      expect(worker.output()).toMatch(
        /Redis has been unreachable for \d+ s \(exit after an outage of 2 s\): killing the children/,
      );
      expect(worker.output()).toMatch(/exiting with code 75/);
      await waitFor(() => !isAlive(hostPid) && children.every((pid) => !isAlive(pid)), {
        what: 'the host and its children to be gone',
      });
    } finally {
      probe.disconnect();
    }
  });

  it('refuses a bad value at start, naming --exit-after-outage', async () => {
    const env = suite.cliEnv();
    const cases: [string, RegExp][] = [
      ['0', /--exit-after-outage must be between 1 and 86400, got 0/],
      ['86401', /--exit-after-outage must be between 1 and 86400, got 86401/],
      ['1.5', /--exit-after-outage must be a whole number, got "1.5"/],
      ['soon', /--exit-after-outage must be a whole number, got "soon"/],
    ];
    const runs = await Promise.all(
      cases.map(([value]) => forklift(['worker', '--exit-after-outage', value], env)),
    );
    for (const [i, run] of runs.entries()) {
      const [value, message] = cases[i] ?? ['', /./];
      expect(run.code, value).toBe(2);
      expect(run.stderr, value).toMatch(/^forklift: /);
      expect(run.stderr, value).toMatch(message);
    }
    expect(await suite.allKeys()).toEqual([]);
    expect(() => resolveWorkerOptions({ exitAfterOutageMs: 500 })).toThrow(
      /Invalid worker option exitAfterOutageMs=500/,
    );
  });
});
