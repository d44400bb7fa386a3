/**
 * What the routes run commands with: one Redis (redis-pool.ts, execute.ts) or a Redis Cluster
 * (cluster-pool.ts, cluster-execute.ts), behind one interface.
 */
import type { Redis } from 'ioredis';
import { runClusterCommand, runClusterPipeline, runClusterTransaction } from './cluster-execute.js';
import { ClusterPool } from './cluster-pool.js';
import type { CommandArg } from './commands.js';
import type { ItemOutcome } from './encoding.js';
import { runCommand, runPipeline, runTransaction, type TransactionOutcome } from './execute.js';
import type { RedisPool } from './redis-pool.js';
import type { ScriptWatchdog } from './script-watchdog.js';

/** The gateway's connections: to one Redis, or to a Redis Cluster. */
export type GatewayPool = RedisPool | ClusterPool;

/** Runs the commands of `/`, `/pipeline` and `/multi-exec`. */
export interface CommandRunner {
  /** One command. @throws {RedisUnavailableError} when Redis cannot answer. */
  single(args: readonly CommandArg[]): Promise<ItemOutcome>;
  /** A pipeline, answered in order. @throws {RedisUnavailableError} when no item got a reply. */
  pipeline(commands: readonly (readonly CommandArg[])[]): Promise<ItemOutcome[]>;
  /** A MULTI/EXEC transaction. @throws {RedisUnavailableError} when the connection fails. */
  transaction(commands: readonly (readonly CommandArg[])[]): Promise<TransactionOutcome>;
}

/** The control connection for a script running behind `conn` (see script-watchdog.ts). */
export function controlFor(pool: GatewayPool, conn: Redis): Redis {
  return pool instanceof ClusterPool ? pool.controlFor(conn) : pool.controlConnection();
}

/** The runner for `pool`, holding Lua to the time limit with `watchdog`. */
export function createRunner(pool: GatewayPool, watchdog: ScriptWatchdog): CommandRunner {
  if (pool instanceof ClusterPool) {
    return {
      single: (args) => runClusterCommand(pool, args, watchdog),
      pipeline: (commands) => runClusterPipeline(pool, commands, watchdog),
      transaction: (commands) => runClusterTransaction(pool, commands, watchdog),
    };
  }
  return {
    single: (args) => runCommand(pool.sharedConnection(), args, watchdog),
    pipeline: (commands) => runPipeline(pool.sharedConnection(), commands, watchdog),
    transaction: async (commands) => {
      const conn = await pool.lease();
      let reusable = false;
      try {
        const result = await runTransaction(conn, commands, watchdog);
        reusable = result.reusable;
        return result.outcome;
      } finally {
        pool.release(conn, reusable);
      }
    },
  };
}
