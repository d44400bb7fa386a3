/**
 * Forklift's own Lua scripts, as the gateway recognizes them: by SHA1 (EVALSHA, EVALSHA_RO) and
 * by exact body (EVAL, EVAL_RO, SCRIPT LOAD). Computed once, when the module loads, from the
 * sources in shared/scripts/ (the same bytes the edge sends; SHA1 as `scriptSha` computes it).
 *
 * Only the scripts a Forklift REST client runs are listed: the producer and operator operations
 * of `QueueClient` (shared/queue-client.ts), which is what the edge uses. The worker host's
 * scripts (claim, finish, renew, reap, ...) never go through the gateway, so a leaked REST token
 * cannot forge results or steal leases with them. Add a script here when `QueueClient` starts
 * using it; test/gateway/forklift-preset.test.ts runs every `QueueClient` operation through a
 * gateway with the `forklift` preset.
 */
import { createHash } from 'node:crypto';
import {
  cancelScript,
  deadMatchingScript,
  deadPageScript,
  deleteDeadScript,
  enqueueScript,
  findByKeyScript,
  getTaskScript,
  type LuaScript,
  listDeadScript,
  listWaitingScript,
  retryDeadScript,
  runNowScript,
  searchTasksScript,
  snapshotScript,
  statsScript,
} from '../../shared/scripts/index.js';
import type { CommandArg } from './commands.js';

/** The scripts a Forklift REST client (the edge's `QueueClient`) runs. */
export const FORKLIFT_CLIENT_SCRIPTS: readonly LuaScript[] = Object.freeze([
  enqueueScript,
  getTaskScript,
  cancelScript,
  statsScript,
  listDeadScript,
  retryDeadScript,
  snapshotScript,
  searchTasksScript,
  findByKeyScript,
  listWaitingScript,
  deadPageScript,
  deleteDeadScript,
  deadMatchingScript,
  runNowScript,
]);

interface Known {
  script: LuaScript;
  bytes: Buffer;
}

/** SHA1 (lower-case hex) of a script body, as Redis names it. */
export function sha1Hex(body: string | Buffer): string {
  return createHash('sha1').update(body).digest('hex');
}

const BY_SHA: ReadonlyMap<string, Known> = new Map(
  FORKLIFT_CLIENT_SCRIPTS.map((script) => {
    const bytes = Buffer.from(script.source, 'utf8');
    return [sha1Hex(bytes), { script, bytes }] as const;
  }),
);
const BY_SOURCE: ReadonlyMap<string, Known> = new Map(
  [...BY_SHA.values()].map((known) => [known.script.source, known] as const),
);

/** The SHA1 of every script in {@link FORKLIFT_CLIENT_SCRIPTS}. */
export const FORKLIFT_SCRIPT_SHAS: readonly string[] = Object.freeze([...BY_SHA.keys()]);

/** The Forklift script named by a SHA1 argument (any case, as Redis accepts it), or `null`. */
export function forkliftScriptBySha(arg: CommandArg | undefined): LuaScript | null {
  if (arg === undefined || arg.length !== 40) return null;
  const sha = (typeof arg === 'string' ? arg : arg.toString('latin1')).toLowerCase();
  return BY_SHA.get(sha)?.script ?? null;
}

/** The Forklift script whose source is exactly `arg` (byte for byte), or `null`. */
export function forkliftScriptByBody(arg: CommandArg | undefined): LuaScript | null {
  if (arg === undefined) return null;
  if (typeof arg === 'string') return BY_SOURCE.get(arg)?.script ?? null;
  const known = BY_SOURCE.get(arg.toString('utf8'));
  return known?.bytes.equals(arg) ? known.script : null;
}
