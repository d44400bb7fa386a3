/**
 * The entry point of a pool child (started with child_process.fork by the host).
 *
 * It imports the handlers module named by FORKLIFT_HANDLERS, opens its own Redis connection and
 * says `ready` (or `init-error` and exits: such a child is never given work). Then it serves
 * its slot (child-slot.ts) until told to stop. A watchdog thread kills it when its host is gone
 * (watchdog.ts). An error nobody caught (a throw from a handler's timer, a rejection nobody
 * awaited) is reported as `fatal` before the child exits, so the run it was in fails with that
 * error's own message.
 */
import { pathToFileURL } from 'node:url';
import { queueKeys, shardKeys } from '../../shared/keys.js';
import { HostScripts } from '../engine/host-scripts.js';
import { ShardScripts } from '../engine/shard-scripts.js';
import type { HandlerSet } from '../handler-api.js';
import { connectRedis } from '../redis/connect.js';
import { toRunError } from './child-run.js';
import { ChildSlot } from './child-slot.js';
import type { ChildConfig, ChildMessage, ParentMessage } from './protocol.js';
import { RunBoardWriter } from './run-board.js';
import { watchHost } from './watchdog.js';

const send = (message: ChildMessage, then?: () => void): void => {
  if (process.connected) process.send?.(message, undefined, {}, () => then?.());
  else then?.();
};

/** Reports an error nobody caught and exits; the host fails the run under way with it. */
function fatal(error: unknown): void {
  const exit = () => process.exit(70);
  setTimeout(exit, 500).unref();
  send({ t: 'fatal', error: toRunError(error) }, exit);
}

/** Reads FORKLIFT_CHILD (set by the host). */
function configFromEnv(): ChildConfig {
  const text = process.env.FORKLIFT_CHILD;
  if (!text) throw new Error('FORKLIFT_CHILD is not set (children are started by a worker host)');
  return JSON.parse(text) as ChildConfig;
}

async function loadHandlers(): Promise<HandlerSet> {
  const modulePath = process.env.FORKLIFT_HANDLERS;
  if (!modulePath) throw new Error('FORKLIFT_HANDLERS is not set');
  const mod = (await import(pathToFileURL(modulePath).href)) as { default?: HandlerSet };
  if (!mod.default?.registry || !mod.default.handlers) {
    throw new Error(`${modulePath} must default-export defineHandlers(registry, handlers)`);
  }
  return mod.default;
}

async function start(): Promise<void> {
  // The host decides when a child stops: a Ctrl-C reaches the whole process group, and the
  // host's graceful shutdown must be able to let running tasks finish.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  const config = configFromEnv();
  watchHost(config.hostPid);
  const handlers = await loadHandlers();
  // Connection errors are retried by ioredis and by the finish calls; the host logs its own.
  const redis = connectRedis(config.redisUrl, {
    name: `forklift:${config.hostId}:child`,
    onError: () => {},
  });
  const scripts =
    (config.shards ?? 1) > 1
      ? new ShardScripts(
          redis,
          shardKeys(config.queue, config.namespace, config.shards),
          config.hostId,
          config.queue,
          config.namespace,
        )
      : new HostScripts(redis, queueKeys(config.queue, config.namespace), config.hostId);
  await scripts.load();
  const slot = new ChildSlot(config, scripts, handlers, send, new RunBoardWriter());
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  process.on('message', (message: ParentMessage) => {
    switch (message.t) {
      case 'run':
        slot.run(message.tasks);
        break;
      case 'abort':
        slot.abort(message.id, message.reason);
        break;
      case 'drain':
        slot.drain();
        break;
      case 'stop':
        redis.disconnect();
        process.exit(0);
        break;
      default: {
        const exhaustive: never = message;
        throw new Error(`unknown message ${JSON.stringify(exhaustive)}`);
      }
    }
  });
  // The host's death closes the IPC channel: exit rather than linger (the watchdog covers a
  // child whose event loop is stuck).
  process.on('disconnect', () => process.exit(0));
  send({ t: 'ready', pid: process.pid });
}

start().catch((error: unknown) => {
  const exit = () => process.exit(1);
  setTimeout(exit, 500).unref();
  send(
    {
      t: 'init-error',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    },
    exit,
  );
});
