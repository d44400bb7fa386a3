/**
 * The environment the CLI reads, read once and validated here:
 *
 * | variable            | default                   | meaning                                  |
 * |---------------------|---------------------------|------------------------------------------|
 * | REDIS_URL           | redis://127.0.0.1:6379    | the Redis every command talks to; a      |
 * |                     |                           | `redis+cluster://h1:p1,h2:p2` URL names a |
 * |                     |                           | Redis Cluster (see redis/cluster-url.ts) |
 * | FORKLIFT_QUEUE      | default                   | queue name (flag `--queue` overrides)    |
 * | FORKLIFT_NAMESPACE  | forklift                  | key namespace (keys: `<ns>:{<queue>}:…`) |
 * | FORKLIFT_SHARDS     | 1                         | the queue's shard count, 1-64 (keys      |
 * |                     |                           | `<ns>:{<queue>#i}:…`; shared/shards.ts)  |
 * | FORKLIFT_LOG_LEVEL  | info                      | pino level: debug logs every task        |
 */
import { NAMESPACE_PATTERN, QUEUE_NAME_PATTERN } from '../../shared/keys.js';
import { MAX_SHARDS } from '../../shared/shards.js';
import { LOG_LEVELS } from '../gateway/config.js';
import { isClusterUrl, parseClusterUrl } from '../redis/cluster-url.js';
import { redactRedisUrl } from '../redis/redact.js';
import { CliError } from './cli-error.js';

/** Validated CLI environment. */
export interface CliEnv {
  redisUrl: string;
  queue: string;
  namespace: string;
  /** The queue's shard count (`FORKLIFT_SHARDS`). */
  shards: number;
  logLevel: string;
}

/** Reads and validates the CLI environment; a bad value is a CliError naming the variable. */
export function readCliEnv(env: NodeJS.ProcessEnv): CliEnv {
  const redisUrl = env.REDIS_URL || 'redis://127.0.0.1:6379';
  // Shown without its credentials, as everywhere (see redis/redact.ts).
  const shown = JSON.stringify(redactRedisUrl(redisUrl));
  if (isClusterUrl(redisUrl)) {
    try {
      parseClusterUrl(redisUrl);
    } catch (error) {
      throw new CliError(`REDIS_URL=${shown} ${(error as Error).message}`);
    }
  } else {
    if (!/^rediss?:\/\/\S+$/.test(redisUrl)) {
      throw new CliError(
        `REDIS_URL=${shown} must be a redis:// or rediss:// URL (redis+cluster:// or rediss+cluster:// for a Redis Cluster)`,
      );
    }
    try {
      new URL(redisUrl);
    } catch {
      throw new CliError(
        `REDIS_URL=${shown} is not a valid URL (write a password's reserved characters, such as / # ? @ :, as %XX)`,
      );
    }
  }
  const queue = env.FORKLIFT_QUEUE || 'default';
  if (!QUEUE_NAME_PATTERN.test(queue)) {
    throw new CliError(
      `FORKLIFT_QUEUE=${JSON.stringify(queue)} must be 1-64 characters of A-Z a-z 0-9 _ . -`,
    );
  }
  const namespace = env.FORKLIFT_NAMESPACE || 'forklift';
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new CliError(
      `FORKLIFT_NAMESPACE=${JSON.stringify(namespace)} must be 1-64 characters of A-Z a-z 0-9 _ . : -`,
    );
  }
  const shardsText = env.FORKLIFT_SHARDS || '1';
  const shards = Number(shardsText);
  if (!/^\d{1,2}$/.test(shardsText) || shards < 1 || shards > MAX_SHARDS) {
    throw new CliError(
      `FORKLIFT_SHARDS=${JSON.stringify(shardsText)} must be an integer from 1 to ${MAX_SHARDS} (the queue's shard count)`,
    );
  }
  const logLevel = env.FORKLIFT_LOG_LEVEL || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new CliError(
      `FORKLIFT_LOG_LEVEL=${JSON.stringify(logLevel)} must be one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  return { redisUrl, queue, namespace, shards, logLevel };
}

/** Checks a `--queue` flag value. */
export function checkQueueFlag(queue: string): string {
  if (!QUEUE_NAME_PATTERN.test(queue)) {
    throw new CliError(
      `--queue ${JSON.stringify(queue)}: use 1-64 characters of A-Z a-z 0-9 _ . -`,
    );
  }
  return queue;
}

/** The queue a command serves: its `--queue` flag (checked) or else FORKLIFT_QUEUE. */
export function queueFrom(cli: CliEnv, flag: string | undefined): string {
  return flag === undefined ? cli.queue : checkQueueFlag(flag);
}
