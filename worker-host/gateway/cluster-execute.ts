/**
 * Running commands on a Redis Cluster (cluster-pool.ts), as execute.ts runs them on one Redis:
 * replies untouched, a Redis error an outcome like any other, a broken connection "lost".
 *
 * Each command runs as its table's {@link clusterRule} says: most by the slot of their keys
 * (every key in one slot, else Redis's own CROSSSLOT error without reaching Redis; keyless ones
 * on any master), a few on every master with their replies combined, SCAN and MOVE not at all.
 * A pipeline's commands are routed one by one, each to its own slot's master, and answered in
 * the request's order. A transaction's keys must all hash to one slot: it runs as MULTI/EXEC on
 * a connection to that slot's master leased for it. The script watchdog holds each command (a
 * transaction: its EXEC) to the time limit on the node it was sent to, and kills a runaway
 * script with that node's control connection.
 */
import type { Redis } from 'ioredis';
import type { ClusterPool } from './cluster-pool.js';
import { CROSSSLOT, commandSlots } from './cluster-slot.js';
import { type ClusterRule, classify, clusterRule } from './command-table.js';
import { type CommandArg, commandName, scriptKillKind } from './commands.js';
import type { ItemOutcome, RedisReply } from './encoding.js';
import {
  isLost,
  LOST,
  lostText,
  RawCommand,
  runTransaction,
  type Settled,
  settle,
  type TransactionOutcome,
} from './execute.js';
import { RedisUnavailableError } from './redis-pool.js';
import type { ScriptWatchdog } from './script-watchdog.js';

/** The command's table key and how it runs on a cluster. */
function ruleOf(args: readonly CommandArg[]): { key: string; rule: ClusterRule } {
  const cn = commandName(args);
  const found = classify(cn.name, cn.sub);
  const key = found?.key ?? cn.name;
  return { key, rule: clusterRule(key) };
}

function refusedText(key: string, reason: string): string {
  return `ERR command '${key.toLowerCase()}' is not supported by the REST gateway on a Redis Cluster: ${reason}`;
}

/** Sends one command on `node` (or through the cluster's router) and watches its script. */
function sendOn(
  pool: ClusterPool,
  node: Redis,
  args: readonly CommandArg[],
  routed: boolean,
  watchdog: ScriptWatchdog | null,
): Promise<Settled> {
  const [name, ...rest] = args;
  const command = new RawCommand(String(name), rest);
  // Routed: ioredis follows MOVED / ASK to wherever the slot lives now.
  if (routed) pool.router().sendCommand(command);
  else node.sendCommand(command);
  const reply = command.promise as Promise<RedisReply>;
  const kill = scriptKillKind(args);
  const watched = watchdog === null ? reply : watchdog.track(node, [reply], kill, [true])[0];
  return settle(watched ?? reply);
}

/** One command, routed by its slot (keyless: any master). */
function bySlot(
  pool: ClusterPool,
  args: readonly CommandArg[],
  watchdog: ScriptWatchdog | null,
): Promise<Settled> {
  const slots = [...commandSlots(args)];
  if (slots.length > 1) return Promise.resolve({ ok: false, error: CROSSSLOT });
  const slot = slots[0] ?? null;
  return sendOn(pool, pool.nodeFor(slot), args, slot !== null, watchdog);
}

/** Integer replies (exact digits) added up. */
function sum(replies: RedisReply[]): RedisReply {
  return String(replies.reduce((total: bigint, r) => total + BigInt(String(r)), 0n));
}

/** 0/1 arrays combined: 1 only where every master answered 1. */
function allOf(replies: RedisReply[]): RedisReply {
  const [first = []] = replies as RedisReply[][];
  return first.map((_, i) =>
    replies.every((r) => Array.isArray(r) && String(r[i]) === '1') ? '1' : '0',
  );
}

/** One command on every master, the replies combined as `kind` says. */
async function onEveryMaster(
  pool: ClusterPool,
  args: readonly CommandArg[],
  kind: 'each-master' | 'sum' | 'concat' | 'all-of',
  watchdog: ScriptWatchdog | null,
): Promise<Settled> {
  const masters = pool.router().nodes('master');
  const outcomes = await Promise.all(masters.map((m) => sendOn(pool, m, args, false, watchdog)));
  const lost = outcomes.find(isLost);
  if (lost !== undefined || outcomes.length === 0)
    return lost ?? { ok: false, error: LOST, lost: true };
  const failed = outcomes.find((o) => !o.ok);
  if (failed !== undefined) return failed;
  const replies = outcomes.map((o) => (o.ok ? o.reply : null));
  if (kind === 'sum') return { ok: true, reply: sum(replies) };
  if (kind === 'concat') return { ok: true, reply: replies.flat() as RedisReply };
  if (kind === 'all-of') return { ok: true, reply: allOf(replies) };
  return { ok: true, reply: replies[0] ?? null };
}

/** Runs one command as its cluster rule says; a missing master is a lost item. */
async function dispatch(
  pool: ClusterPool,
  args: readonly CommandArg[],
  watchdog: ScriptWatchdog | null,
): Promise<Settled> {
  const { key, rule } = ruleOf(args);
  try {
    if (rule.kind === 'refused') return { ok: false, error: refusedText(key, rule.reason) };
    if (rule.kind === 'slot') return await bySlot(pool, args, watchdog);
    return await onEveryMaster(pool, args, rule.kind, watchdog);
  } catch (error) {
    if (error instanceof RedisUnavailableError)
      return { ok: false, error: error.message, lost: true };
    throw error;
  }
}

/**
 * Runs one command on the cluster.
 * @throws {RedisUnavailableError} if no master can take it or its connection broke first.
 */
export async function runClusterCommand(
  pool: ClusterPool,
  args: readonly CommandArg[],
  watchdog: ScriptWatchdog | null = null,
): Promise<ItemOutcome> {
  const outcome = await dispatch(pool, args, watchdog);
  if (isLost(outcome)) throw new RedisUnavailableError(outcome.error);
  return outcome;
}

/**
 * Runs a pipeline on the cluster: every command routed on its own, answered in order, an error
 * in one not stopping the rest.
 * @throws {RedisUnavailableError} only when no item got a reply at all.
 */
export async function runClusterPipeline(
  pool: ClusterPool,
  commands: readonly (readonly CommandArg[])[],
  watchdog: ScriptWatchdog | null = null,
): Promise<ItemOutcome[]> {
  const outcomes = await Promise.all(commands.map((args) => dispatch(pool, args, watchdog)));
  if (outcomes.length > 0 && outcomes.every(isLost)) {
    throw new RedisUnavailableError(lostText(outcomes));
  }
  return outcomes.map((o) => (o.ok ? o : { ok: false, error: o.error }));
}

/**
 * Runs a transaction on the master of its one slot. Keys in several slots answer Redis's
 * CROSSSLOT error and nothing runs; a command that runs on every master, or that the cluster
 * refuses, discards the transaction (EXECABORT).
 * @throws {RedisUnavailableError} if the connection fails.
 */
export async function runClusterTransaction(
  pool: ClusterPool,
  commands: readonly (readonly CommandArg[])[],
  watchdog: ScriptWatchdog | null = null,
): Promise<TransactionOutcome> {
  const slots = new Set<number>();
  for (const args of commands) {
    const { key, rule } = ruleOf(args);
    const refused =
      rule.kind === 'refused'
        ? refusedText(key, rule.reason)
        : rule.kind !== 'slot'
          ? refusedText(key, 'it runs on every master, which no transaction spans')
          : null;
    if (refused !== null) {
      return { committed: false, error: `EXECABORT Transaction discarded because of: ${refused}` };
    }
    for (const slot of commandSlots(args)) slots.add(slot);
  }
  if (slots.size > 1) return { committed: false, error: CROSSSLOT };
  const conn = await pool.lease([...slots][0] ?? null);
  let reusable = false;
  try {
    const { outcome, reusable: ok } = await runTransaction(conn, commands, watchdog);
    reusable = ok;
    // The slot moved since the table was read: the next request should find its new master.
    if (!outcome.committed && /\b(MOVED|ASK) \d+ /.test(outcome.error)) pool.refresh();
    return outcome;
  } finally {
    pool.release(conn, reusable);
  }
}
