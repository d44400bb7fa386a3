/**
 * Idle cost: a host with an empty queue sends few commands (what per-command billing, as on
 * Upstash, charges for). The host runs against a throwaway redis-server of its own, and MONITOR
 * counts the commands all its connections send: its own two (`forklift:<hostId>` and `…:wait`)
 * and one per child (`…:child`, for direct settling); commands a Lua script runs inside Redis
 * are not sent and are not counted.
 *
 * The window is one full maintenance period with the default options (lease 30 s → tick 15 s:
 * heartbeat, reap and promote, each one EVALSHA; BLPOP re-issued every 25 s), so the figure is
 * the steady rate, not a lucky or unlucky slice of it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareBatch } from '../../shared/enqueue-request.js';
import { QueueClient } from '../../shared/queue-client.js';
import { startWorkerHost, type WorkerHost } from '../../worker-host/host.js';
import { ioredisTransport } from '../../worker-host/redis/ioredis-transport.js';
import { FIXTURE_HANDLERS, fixtureTasks } from '../fixtures/handlers.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/redis.js';
import { sleep } from './harness.js';

const WINDOW_MS = 15_000;

describe('idle cost', () => {
  let server: ChildProcess | undefined;
  let url = '';
  let host: WorkerHost | undefined;
  let admin: Redis | undefined;
  let monitor: Redis | undefined;

  beforeAll(async () => {
    const port = await freePort();
    server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    url = `redis://127.0.0.1:${port}`;
    admin = new Redis(url, { maxRetriesPerRequest: 3, retryStrategy: () => 100 });
    admin.on('error', () => {});
    await waitFor(async () => (await admin?.ping().catch(() => null)) === 'PONG', {
      what: 'the throwaway redis-server',
    });
  });

  afterAll(async () => {
    monitor?.disconnect();
    await host?.close({ force: true, graceMs: 0 });
    admin?.disconnect();
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = once(server, 'exit');
      server.kill('SIGKILL');
      await exited;
    }
  });

  it('an idle host sends at most 30 commands a minute', { timeout: 60_000 }, async () => {
    const hostId = `idle-${process.pid}`;
    host = await startWorkerHost({
      redisUrl: url,
      namespace: 't-idle',
      concurrency: 2,
      handlersModule: FIXTURE_HANDLERS,
      hostId,
      logger: pino({ level: 'silent' }),
    });
    // Warm up: start-up is not idling. Run pairs of tasks until two different children answer,
    // so both children are ready and the claim/complete scripts are loaded; then let it settle.
    const queue = new QueueClient(ioredisTransport(admin as Redis), { namespace: 't-idle' });
    for (let round = 0; ; round++) {
      const prepared = prepareBatch(fixtureTasks, [
        { type: 'sleep', payload: { ms: 300 } },
        { type: 'sleep', payload: { ms: 300 } },
      ]);
      if (!prepared.ok) throw new Error('invalid warm-up tasks');
      const ids = (await queue.enqueue(prepared.specs)).map((r) => r.id);
      const pids = await Promise.all(
        ids.map((id) =>
          waitFor(async () => {
            const view = await queue.getTask(id);
            return view?.state === 'succeeded' ? (view.result as number) : null;
          }),
        ),
      );
      if (new Set(pids).size === 2) break;
      if (round === 20) throw new Error('the second child never became ready');
    }
    await sleep(1_000);

    const clients = (await admin?.client('LIST')) as string;
    const addresses = new Set(
      clients
        .split('\n')
        .filter((line) => / name=forklift:idle-\d+(:wait|:child)? /.test(line))
        .map((line) => /\baddr=(\S+)/.exec(line)?.[1]),
    );
    // The host's two connections and one per child.
    expect(addresses.size).toBe(4);

    const sent: string[] = [];
    monitor = await new Redis(url).monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (addresses.has(source)) sent.push(String(args[0]).toLowerCase());
    });
    await sleep(WINDOW_MS);
    monitor.disconnect();

    const perMinute = (sent.length * 60_000) / WINDOW_MS;
    console.info(
      `idle host: ${sent.length} commands in ${WINDOW_MS / 1000} s = ${perMinute}/min (${sent.join(', ')})`,
    );
    expect(sent.length).toBeGreaterThan(0);
    expect(perMinute).toBeLessThanOrEqual(30);
    expect(host.pids()).toHaveLength(2);
  });
});
