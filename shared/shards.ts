/**
 * Sharded queues: a queue declared with `shards: K` (K > 1) keeps its keys under K hash tags,
 * `{<queue>#0}` to `{<queue>#K-1}`, so each shard can live on its own Redis Cluster master. K = 1
 * (the default) is the plain queue of `{<queue>}`, unchanged.
 *
 * Placement (producers): a task with an idempotency key goes to `hash(key) mod K`, so duplicates
 * meet on one shard; any other task to `hash(id) mod K` (ids are random UUIDs, so this spreads
 * evenly, and a re-sent batch with the same ids lands where the first did). The id of a task of
 * a sharded queue ends in `.s<shard>` (`<uuid>.s2`: characters a URL path and the edge's id
 * pattern take as they are), so every look-up by id (status, cancel, run
 * now, retry, delete) reaches its shard in one call. Ids of a K = 1 queue carry no suffix.
 */

/** The largest shard count a queue may be declared with. */
export const MAX_SHARDS = 64;

/**
 * Checks a shard count; returns it.
 * @throws RangeError unless it is an integer from 1 to `MAX_SHARDS`.
 */
export function checkShards(shards: number): number {
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    throw new RangeError(`shards must be an integer from 1 to ${MAX_SHARDS}, got ${shards}`);
  }
  return shards;
}

/** 32-bit FNV-1a of a string's UTF-16 code units: the same in Workers and Node. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The shard a new task goes to: by idempotency key when it has one, else by id. */
export function placeTask(shards: number, id: string, idempotencyKey?: string): number {
  if (shards === 1) return 0;
  return fnv1a(idempotencyKey ?? id) % shards;
}

/** The id a task of shard `shard` is stored under (unchanged when the queue has one shard). */
export function shardTaskId(shards: number, id: string, shard: number): string {
  return shards === 1 ? id : `${id}.s${shard}`;
}

const SHARD_SUFFIX = /\.s(\d{1,2})$/;

/**
 * The shard a task id names, or -1 when the id cannot belong to this queue (a sharded queue's id
 * without a valid `.s<shard>` suffix). A one-shard queue answers 0 for any id.
 */
export function shardOfId(shards: number, id: string): number {
  if (shards === 1) return 0;
  const match = SHARD_SUFFIX.exec(id);
  const shard = match ? Number(match[1]) : -1;
  return shard >= 0 && shard < shards ? shard : -1;
}
