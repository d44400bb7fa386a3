/**
 * How `QueueClient` sees a sharded queue whole: the per-shard answers of its reads (one script
 * call per shard) merged into one, and the composite cursors of its paged walks.
 *
 * Merged pages: every shard is asked for the same page (offset and count, or its own cursor and
 * the limit) and the answers are merged in the list's order (newest first for searches and dead
 * letters, next to run for the waiting lists); totals are summed. So a page of a queue of K
 * shards holds up to K times the count asked for. A composite cursor is one cursor per shard,
 * joined by commas: '' starts a shard's walk, '.' marks a shard walked to its end.
 */
import type { QueueStats } from './queue-client.js';
import type { HistorySample, HostView, QueueOverview, TaskSummary } from './queue-views.js';

/** The sum of the shards' stats. */
export function sumStats(queue: string, parts: readonly QueueStats[]): QueueStats {
  const total: QueueStats = {
    queue,
    lanes: { high: 0, normal: 0, low: 0 },
    delayed: 0,
    active: 0,
    succeeded: 0,
    failed: 0,
    dead: 0,
    canceled: 0,
  };
  for (const p of parts) {
    total.lanes.high += p.lanes.high;
    total.lanes.normal += p.lanes.normal;
    total.lanes.low += p.lanes.low;
    total.delayed += p.delayed;
    total.active += p.active;
    total.succeeded += p.succeeded;
    total.failed += p.failed;
    total.dead += p.dead;
    total.canceled += p.canceled;
  }
  return total;
}

/** A host registers on every shard: its slots are summed, its busy ones counted once each. */
function mergeHosts(parts: readonly QueueOverview[]): HostView[] {
  const byId = new Map<string, HostView>();
  for (const part of parts) {
    for (const host of part.hosts) {
      const seen = byId.get(host.id);
      if (!seen) {
        byId.set(host.id, { ...host, slots: { ...host.slots } });
        continue;
      }
      seen.slots.busy += host.slots.busy;
      seen.slots.prefetched += host.slots.prefetched;
      seen.expiresAt = Math.min(seen.expiresAt, host.expiresAt);
    }
  }
  for (const host of byId.values()) {
    const slots = host.slots.free + host.slots.busy;
    host.slots.free = Math.max(0, Math.max(slots, host.concurrency) - host.slots.busy);
  }
  return [...byId.values()];
}

/** Sums the shards' history: at each time of the first shard's samples, the latest of each. */
function mergeHistory(parts: readonly QueueOverview[]): HistorySample[] {
  const [first, ...rest] = parts;
  if (!first) return [];
  return first.history.map((sample) => {
    const sum = { ...sample };
    for (const part of rest) {
      const at = part.history.filter((s) => s.at <= sample.at).at(-1);
      if (!at) continue;
      sum.enqueued += at.enqueued;
      sum.succeeded += at.succeeded;
      sum.failed += at.failed;
      sum.dead += at.dead;
    }
    return sum;
  });
}

/** The overview of a whole sharded queue from its shards' overviews. */
export function mergeOverviews(queue: string, parts: readonly QueueOverview[]): QueueOverview {
  const sum = (pick: (o: QueueOverview) => number): number =>
    parts.reduce((n, o) => n + pick(o), 0);
  const lanes = (parts[0]?.lanes ?? []).map((lane, i) => {
    const waits = parts
      .map((o) => o.lanes[i]?.oldestWaitMs ?? null)
      .filter((w): w is number => w !== null);
    return {
      lane: lane.lane,
      size: sum((o) => o.lanes[i]?.size ?? 0),
      oldestWaitMs: waits.length > 0 ? Math.max(...waits) : null,
    };
  });
  return {
    queue,
    now: Math.max(0, ...parts.map((o) => o.now)),
    lanes,
    delayed: sum((o) => o.delayed),
    active: sum((o) => o.active),
    totals: {
      enqueued: sum((o) => o.totals.enqueued),
      succeeded: sum((o) => o.totals.succeeded),
      failed: sum((o) => o.totals.failed),
      dead: sum((o) => o.totals.dead),
      canceled: sum((o) => o.totals.canceled),
    },
    deadKept: sum((o) => o.deadKept),
    hosts: mergeHosts(parts),
    history: mergeHistory(parts),
  };
}

const time = (iso: string | null): number => (iso === null ? 0 : Date.parse(iso) || 0);

/** Which time orders a merged page, and which way. */
export type MergeOrder = 'enqueued-desc' | 'finished-desc' | 'enqueued-asc' | 'run-asc';

/** Merges the shards' pages of summaries in `order`. */
export function mergeSummaries(
  pages: readonly (readonly TaskSummary[])[],
  order: MergeOrder,
): TaskSummary[] {
  const key = (t: TaskSummary): number =>
    order === 'finished-desc'
      ? -time(t.finishedAt)
      : order === 'enqueued-desc'
        ? -time(t.enqueuedAt)
        : order === 'run-asc'
          ? time(t.runAt)
          : time(t.enqueuedAt);
  return pages.flat().sort((a, b) => key(a) - key(b));
}

/** The end-of-walk marker of one shard in a composite cursor. */
export const SHARD_DONE = '.';

/**
 * Splits a composite cursor into one cursor per shard ('' = from the start, `SHARD_DONE` = done);
 * null when it is not K parts each valid by `valid`.
 */
export function splitCursor(
  cursor: string | null | undefined,
  shards: number,
  valid: (part: string) => boolean,
): string[] | null {
  if (cursor === null || cursor === undefined) return Array.from({ length: shards }, () => '');
  const parts = cursor.split(',');
  if (parts.length !== shards) return null;
  return parts.every((p) => p === '' || p === SHARD_DONE || valid(p)) ? parts : null;
}

/** Joins per-shard cursors; null once every shard is done. */
export function joinCursor(parts: readonly string[]): string | null {
  return parts.every((p) => p === SHARD_DONE) ? null : parts.join(',');
}
