/**
 * `forklift gateway` as a process with a `redis+cluster://` REDIS_URL, and the whole path on a
 * Redis Cluster: a producer calls the edge Worker (workerd, Miniflare) → the
 * REST gateway with `FORKLIFT_GATEWAY_ALLOW=forklift` in front of a private 3-master cluster →
 * the master of the queue's slot, and a worker host on the same cluster runs what the edge
 * enqueued; the edge then reports the result. Nothing mocked.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startWorkerHost, type WorkerHost } from '../../worker-host/host.js';
import { ROOT, TSX } from '../support/cli.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { edgeBindings, startTestEdge, type TestEdge } from '../support/edge.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { testNamespace, waitFor } from '../support/redis.js';

const namespace = testNamespace('cluster-gw-edge');
let cluster: TestCluster;
let gateway: TestGateway;
let edge: TestEdge;
let host: WorkerHost;

beforeAll(async () => {
  cluster = await startCluster();
  gateway = await startTestGateway({ redisUrl: cluster.url, allow: 'forklift' });
  edge = await startTestEdge({ bindings: edgeBindings(gateway, { namespace }) });
  host = await startWorkerHost({
    redisUrl: cluster.url,
    queue: 'default',
    namespace,
    concurrency: 1,
    logger: pino({ level: process.env.FORKLIFT_TEST_LOG_LEVEL ?? 'silent' }),
  });
}, 60_000);

afterAll(async () => {
  await host?.close({ graceMs: 1_000 });
  await edge?.dispose();
  await gateway?.close();
  await cluster?.stop();
});

test('enqueue at the edge → run by a host on the cluster → the edge shows the result', async () => {
  const res = await edge.api('POST', '/v1/tasks/batch', {
    body: { tasks: [3, 4, 5].map((x) => ({ type: 'square', payload: { x } })) },
  });
  expect(res.status).toBe(202);
  const results: unknown[] = [];
  for (const { id } of res.body.tasks as { id: string }[]) {
    const task = await waitFor(
      async () => {
        const { body } = await edge.api('GET', `/v1/tasks/${id}`);
        return ['succeeded', 'dead', 'canceled'].includes(body.state) ? body : null;
      },
      { what: `task ${id} to finish`, timeoutMs: 20_000 },
    );
    expect(task).toMatchObject({ id, state: 'succeeded' });
    results.push(task.result);
  }
  expect(results).toEqual([9, 16, 25]);
  expect((await edge.api('GET', '/v1/stats')).body).toMatchObject({ succeeded: 3 });
});

test('`forklift gateway` serves a cluster REDIS_URL and exits 0 on SIGTERM', async () => {
  const token = `cli-${Math.random().toString(36).slice(2)}`;
  const child = spawn(TSX, ['worker-host/cli/main.ts', 'gateway', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: cluster.url, FORKLIFT_GATEWAY_TOKENS: token },
  });
  let out = '';
  child.stderr.on('data', (d) => {
    out += d;
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in: ${out}`)), 15_000);
      child.stdout.on('data', (d) => {
        out += d;
        const match = /"url":"(http:\/\/[^"]+)"/.exec(out);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    expect(out).toContain('redis+cluster://');
    const call = (body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    expect(await call(['SET', 't:gw-cli:a', '1'])).toEqual({ result: 'OK' });
    expect(await call(['MGET', 't:gw-cli:a', 't:gw-cli:b'])).toEqual({
      error: "CROSSSLOT Keys in request don't hash to the same slot",
    });
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
  }
});
