/**
 * A short-lived Redis connection and QueueClient for one-shot commands (enqueue, status, ...).
 *
 * This is the one place those commands meet Redis, so it is also where a Redis that cannot be
 * used becomes a CliError (exit 1) naming it: unreachable, refusing the credentials, or not
 * speaking Redis. The URL is always shown through `redactRedisUrl` and the driver's message
 * through `redactText`, so neither can carry the password to the terminal.
 */
import { QueueClient } from '../../shared/queue-client.js';
import { connectRedis, type RedisClient } from '../redis/connect.js';
import { ioredisTransport } from '../redis/ioredis-transport.js';
import { redactRedisUrl, redactText, redisUrlSecrets } from '../redis/redact.js';
import { CliError } from './cli-error.js';

/**
 * Connection failures: nothing answers, or the connection went away (on a cluster also: no
 * seed node answers, or the slot's master stays away through every redirection).
 */
const UNREACHABLE =
  /max retries|Connection is closed|None of startup nodes|Too many Cluster redirections|Failed to refresh slots cache|CLUSTERDOWN|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET|connect timeout/i;
/** The server refused the credentials (or wanted some). */
const REFUSED = /WRONGPASS|NOAUTH|invalid password|invalid username-password|AUTH failed/i;
/** Something answered, but not in RESP. */
const NOT_REDIS = /Unknown RESP type|Protocol error/i;

/**
 * The CliError (exit 1) for an error that means the Redis at `redisUrl` cannot be used, with
 * the URL and the messages masked; undefined for any other error (a Forklift error such as a
 * corrupt record, which the command reports itself).
 */
export function redisUnusable(
  redisUrl: string,
  error: unknown,
  lastConnectionError?: Error,
): CliError | undefined {
  if (!(error instanceof Error)) return undefined;
  const where = redactRedisUrl(redisUrl);
  const secrets = redisUrlSecrets(redisUrl);
  const why = (e: Error) => redactText(e.message, secrets);
  if (REFUSED.test(error.message) || REFUSED.test(lastConnectionError?.message ?? '')) {
    const cause = REFUSED.test(error.message) ? error : (lastConnectionError as Error);
    return new CliError(
      `Redis at ${where} refused the credentials in REDIS_URL (${why(cause)}); check REDIS_URL`,
      1,
    );
  }
  if (NOT_REDIS.test(error.message)) {
    return new CliError(`what answers at ${where} does not speak Redis (${why(error)})`, 1);
  }
  if (UNREACHABLE.test(error.message)) {
    return new CliError(
      `cannot reach Redis at ${where} (${why(lastConnectionError ?? error)}); set REDIS_URL`,
      1,
    );
  }
  return undefined;
}

/**
 * Runs `fn` with a QueueClient on a fresh connection, closing it afterwards.
 * @throws CliError (exit 1) naming the Redis (without its password) when it cannot be used.
 */
export async function withQueue<T>(
  redisUrl: string,
  queue: string,
  where: { namespace: string; shards: number },
  fn: (client: QueueClient, redis: RedisClient) => Promise<T>,
): Promise<T> {
  let lastError: Error | undefined;
  const redis = connectRedis(redisUrl, {
    name: 'forklift:cli',
    onError: (error) => {
      lastError = error;
    },
  });
  try {
    const { namespace, shards } = where;
    return await fn(new QueueClient(ioredisTransport(redis), { queue, namespace, shards }), redis);
  } catch (error) {
    throw redisUnusable(redisUrl, error, lastError) ?? error;
  } finally {
    redis.disconnect();
  }
}
