/**
 * `forklift dev` whose last part cannot start (the dashboard's port is taken) undoes the parts
 * it had started: it exits 1 naming the port, the gateway's port is free again, and no worker
 * host is left registered in Redis, not even by a heartbeat that was in flight when the host
 * stopped (which used to register it again as a live host for a whole TTL).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { queueKeys } from '../../shared/keys.js';
import { runForklift } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { deleteNamespace, TEST_REDIS_URL, testNamespace, testRedis } from '../support/redis.js';

const redis = testRedis();
const namespace = testNamespace('dev-start-failure');
const keys = queueKeys('default', namespace);
let blocker: Server | undefined;

afterAll(async () => {
  blocker?.close();
  await deleteNamespace(redis, namespace);
  redis.disconnect();
});

/** Resolves once something can listen on `port` again. */
async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  const [result] = await Promise.race([
    once(server, 'listening').then(() => ['ok']),
    once(server, 'error').then(() => ['busy']),
  ]);
  server.close();
  return result === 'ok';
}

it('a dev stack whose dashboard cannot listen stops what it started and leaves no host', async () => {
  const dashboardPort = await freePort();
  const gatewayPort = await freePort();
  blocker = createServer();
  blocker.listen(dashboardPort, '127.0.0.1');
  await once(blocker, 'listening');

  const run = await runForklift(
    [
      'dev',
      '--no-edge',
      '--concurrency',
      '1',
      '--gateway-port',
      String(gatewayPort),
      '--dashboard-port',
      String(dashboardPort),
    ],
    { ...process.env, REDIS_URL: TEST_REDIS_URL, FORKLIFT_NAMESPACE: namespace },
  );
  expect(run.code, run.stderr).toBe(1);
  expect(run.stderr).toContain(`127.0.0.1:${dashboardPort}`);
  // The worker host had started and registered: it unregistered, and nothing registered it
  // again after.
  expect(run.stdout).toContain('worker host stopped');
  expect(await redis.zrange(keys.hosts, '0', '-1')).toEqual([]);
  expect(await canListen(gatewayPort)).toBe(true);
}, 60_000);
