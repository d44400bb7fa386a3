/**
 * The engine's `ScriptTransport` over ioredis: EVALSHA/EVAL with the keys and arguments as
 * given, replies untouched (ioredis returns strings, numbers and nested arrays as Redis sent
 * them, which is what the shared codec reads).
 */
import type { ScriptTransport } from '../../shared/script-runner.js';
import type { RedisClient } from './connect.js';

/** Wraps an ioredis connection (to one Redis or a cluster) as a script transport. */
export function ioredisTransport(redis: RedisClient): ScriptTransport {
  return {
    evalsha: (sha, keys, args) => redis.evalsha(sha, keys.length, ...keys, ...args),
    eval: (source, keys, args) => redis.eval(source, keys.length, ...keys, ...args),
  };
}
