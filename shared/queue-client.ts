/**
 * The operations any producer or operator runs against a queue, over any `ScriptTransport`:
 * enqueue (one or a batch, one round trip), read a task, cancel, stats, and the dead-letter
 * list; and the operator views and actions of the dashboard and the edge's operator routes
 * (overview, task search, waiting lists, dead-letter pages, deletes and bulk actions, run now),
 * each one script call. The edge uses it over @upstash/redis, the CLI over ioredis.
 *
 * A sharded queue (`shards: K` > 1, see shards.ts) is seen whole: an enqueue makes one script
 * call per shard its tasks go to (in parallel), a call naming a task by id goes to the shard its
 * id names (one call), and the reads and bulk actions over the queue make one call per shard and
 * merge the answers (shard-views.ts). With K = 1 every call is what it always was.
 *
 * Every string that becomes part of a Redis key (task ids, idempotency keys) is checked to be
 * well-formed Unicode before it is sent (`ValidationError` otherwise): Redis would receive U+FFFD
 * for an unpaired surrogate, so two different strings would name one key. `prepareEnqueue`
 * already refuses them; the check here covers specs and ids that did not come through it.
 */
import { type TaskSpec, wellFormedProblem } from './enqueue-request.js';
import { asShardMismatch, ScriptReplyError } from './errors.js';
import { type QueueKeys, queueKeys, shardKeys } from './keys.js';
import {
  BULK_CURSOR,
  filterProblems,
  isCount,
  refuse,
  requireWellFormed,
  SEARCH_CURSOR,
  WAITING_LISTS,
} from './operator-args.js';
import type {
  BulkProgress,
  DeadFilter,
  QueueOverview,
  TaskPage,
  TaskQuery,
  TaskSummary,
  WaitingList,
} from './queue-views.js';
import { runScript, type ScriptTransport } from './script-runner.js';
import {
  BULK_CHUNK,
  cancelScript,
  deadMatchingScript,
  deadPageScript,
  deleteDeadScript,
  ENQUEUE_FIELDS_PER_TASK,
  enqueueScript,
  findByKeyScript,
  getTaskScript,
  LIST_MAX_COUNT,
  type LuaScript,
  listDeadScript,
  listWaitingScript,
  retryDeadScript,
  runNowScript,
  SEARCH_MAX_LIMIT,
  searchTasksScript,
  snapshotScript,
  statsScript,
} from './scripts/index.js';
import {
  joinCursor,
  mergeOverviews,
  mergeSummaries,
  SHARD_DONE,
  splitCursor,
  sumStats,
} from './shard-views.js';
import { checkShards, placeTask, shardOfId, shardTaskId } from './shards.js';
import { decodeTaskRecord, type TaskRecord, type TaskView, toTaskView } from './task-record.js';
import { TASK_STATES, type TaskState } from './task-state.js';
import { decodeOverview, decodeSummaries } from './view-codec.js';

/** What enqueue says about one task. */
export interface EnqueueResult {
  id: string;
  state: TaskState | 'expired';
  /** True when an idempotency key named an earlier task; `id` is that task's. */
  duplicate: boolean;
}

/** The queue's counters, as `stats --json` and `GET /v1/stats` return them. */
export interface QueueStats {
  queue: string;
  lanes: { high: number; normal: number; low: number };
  delayed: number;
  active: number;
  succeeded: number;
  failed: number;
  dead: number;
  canceled: number;
}

/**
 * The outcome of a cancel. A task that is canceled already answers `canceled` too (nothing is
 * written): a cancel re-sent after its reply was lost gets the answer of the first.
 */
export type CancelResult =
  | { outcome: 'canceled' }
  | { outcome: 'not_found' }
  | { outcome: 'conflict'; state: TaskState };

/** One line of the dead-letter list. */
export interface DeadTask {
  id: string;
  type: string;
  attempts: number;
  error: string;
  finishedAt: string | null;
}

/**
 * The outcome of a run-now. A task that is queued already answers `queued` too (nothing is
 * written): a run-now re-sent after its reply was lost gets the answer of the first.
 */
export type RunNowResult =
  | { outcome: 'queued' }
  | { outcome: 'not_found' }
  | { outcome: 'conflict'; state: TaskState };

/** Options of `QueueClient`. */
export interface QueueClientOptions {
  /** The queue name. @default 'default' */
  queue?: string;
  /** Key namespace (tests use their own). @default 'forklift' */
  namespace?: string;
  /**
   * How many shards the queue is declared with (`FORKLIFT_SHARDS`; 1 to 64): every producer and
   * host of a queue must use the same count, or its calls fail with a `ShardMismatchError`.
   * @default 1
   */
  shards?: number;
}

const optional = (n: number | undefined): string => (n === undefined ? '' : String(n));

function asArray(script: string, reply: unknown): unknown[] {
  if (!Array.isArray(reply))
    throw new ScriptReplyError(script, `expected an array, got ${typeof reply}`);
  return reply;
}

/** Producer and operator operations on one queue. */
export class QueueClient {
  /** The queue's keys (of its first shard, when it has several). */
  readonly keys: QueueKeys;
  readonly queue: string;
  /** The queue's shard count. */
  readonly shards: number;
  /** The keys of each shard (`[keys]` for a one-shard queue). */
  readonly shardKeys: readonly QueueKeys[];
  private readonly namespace: string | undefined;
  private declared: Promise<unknown> | undefined;

  constructor(
    private readonly transport: ScriptTransport,
    options: QueueClientOptions = {},
  ) {
    this.queue = options.queue ?? 'default';
    this.namespace = options.namespace;
    this.shards = checkShards(options.shards ?? 1);
    this.shardKeys = shardKeys(this.queue, options.namespace, this.shards);
    this.keys = this.shardKeys[0] as QueueKeys;
  }

  /** Runs an engine script with this queue's KEYS and prefix (its first shard's). */
  run(script: LuaScript, args: readonly string[] = []): Promise<unknown> {
    return this.runOn(0, script, args);
  }

  /** Runs an engine script on shard `shard` (0 for a one-shard queue). */
  runOn(shard: number, script: LuaScript, args: readonly string[] = []): Promise<unknown> {
    const keys = this.shardKeys[shard];
    if (!keys) throw new RangeError(`no shard ${shard} in a queue of ${this.shards}`);
    return runScript(this.transport, script, keys.scriptKeys, [keys.prefix, ...args]);
  }

  /** Runs `call` on every shard, in parallel; the answers in shard order. */
  private everyShard<T>(call: (shard: number) => Promise<T>): Promise<T[]> {
    return Promise.all(this.shardKeys.map((_, shard) => call(shard)));
  }

  /**
   * Records this client's shard count in the plain `{<queue>}` stats hash too (once per client),
   * so a one-shard producer or host of the same queue meets the mismatch error.
   */
  private declarePlain(): Promise<unknown> {
    this.declared ??= (async () => {
      const plain = queueKeys(this.queue, this.namespace);
      // An enqueue of no task: it checks and records the count and writes nothing else (and it
      // is a script every REST gateway preset for producers admits).
      await runScript(this.transport, enqueueScript, plain.scriptKeys, [
        plain.prefix,
        '0',
        String(ENQUEUE_FIELDS_PER_TASK),
        String(this.shards),
      ]);
    })().catch((error: unknown) => {
      this.declared = undefined;
      throw asShardMismatch(error, this.queue);
    });
    return this.declared;
  }

  /** Groups ids by the shard they name; ids that name none are returned apart. */
  private byShard(ids: readonly string[]): { groups: Map<number, string[]>; foreign: string[] } {
    const groups = new Map<number, string[]>();
    const foreign: string[] = [];
    for (const id of ids) {
      const shard = shardOfId(this.shards, id);
      if (shard < 0) foreign.push(id);
      else {
        const group = groups.get(shard);
        if (group) group.push(id);
        else groups.set(shard, [id]);
      }
    }
    return { groups, foreign };
  }

  /**
   * Runs `script` once per shard the `ids` name, with `args` then that shard's ids, for scripts
   * answering `{ count, then the ids not handled }`; sums the counts. Ids naming no shard are
   * not handled.
   */
  private async onShardsOfIds(
    name: string,
    script: LuaScript,
    ids: readonly string[],
    args: readonly string[],
  ): Promise<{ count: number; others: string[] }> {
    const { groups, foreign } = this.byShard(ids);
    const out = { count: 0, others: [...foreign] };
    for (const [shard, group] of groups) {
      const reply = asArray(name, await this.runOn(shard, script, [...args, ...group]));
      out.count += Number(reply[0]) || 0;
      out.others.push(...reply.slice(1).map(String));
    }
    return out;
  }

  /**
   * Writes validated tasks in one atomic script call: all are written, or none.
   * Validate first with `prepareEnqueue` / `prepareBatch`.
   *
   * Safe to re-send: a call whose reply was lost, run again with the same specs (the same ids),
   * writes nothing more and answers the same ids and duplicate flags (see the enqueue script).
   * @throws ValidationError (paths `<index>.id`, `.type`, `.idempotencyKey`) when one of those
   *   is not well-formed Unicode; nothing is sent.
   */
  async enqueue(specs: readonly TaskSpec[]): Promise<EnqueueResult[]> {
    if (specs.length === 0) return [];
    requireWellFormed(
      specs.flatMap((s, i) => [
        [`${i}.id`, s.id],
        [`${i}.type`, s.type],
        [`${i}.idempotencyKey`, s.idempotencyKey],
      ]),
    );
    if (this.shards === 1) return this.enqueueOn(0, specs);
    // A sharded queue: each task to its shard (its id then names it), one call per shard.
    await this.declarePlain();
    const groups = new Map<number, { at: number[]; specs: TaskSpec[] }>();
    specs.forEach((s, i) => {
      const shard = placeTask(this.shards, s.id, s.idempotencyKey);
      const group = groups.get(shard) ?? { at: [], specs: [] };
      group.at.push(i);
      group.specs.push({ ...s, id: shardTaskId(this.shards, s.id, shard) });
      groups.set(shard, group);
    });
    const results: EnqueueResult[] = new Array(specs.length);
    await Promise.all(
      [...groups].map(async ([shard, group]) => {
        const answers = await this.enqueueOn(shard, group.specs);
        group.at.forEach((i, j) => {
          results[i] = answers[j] as EnqueueResult;
        });
      }),
    );
    return results;
  }

  /** One enqueue script call on one shard (a sharded queue's carries its shard count). */
  private async enqueueOn(shard: number, specs: readonly TaskSpec[]): Promise<EnqueueResult[]> {
    const args: string[] = [String(specs.length), String(ENQUEUE_FIELDS_PER_TASK)];
    for (const s of specs) {
      args.push(
        s.id,
        s.type,
        s.payloadJson,
        s.priority,
        String(s.delayMs),
        s.idempotencyKey ?? '',
        String(s.idempotencyTtlMs),
        String(s.policy.maxAttempts),
        String(s.policy.timeoutMs),
        String(s.policy.backoffMs),
        String(s.policy.backoffMaxMs),
        String(s.policy.resultTtlMs),
        String(s.policy.deadTtlMs),
        String(s.policy.maxStalls),
      );
    }
    if (this.shards > 1) args.push(String(this.shards));
    let raw: unknown;
    try {
      raw = await this.runOn(shard, enqueueScript, args);
    } catch (error) {
      throw asShardMismatch(error, this.queue);
    }
    const reply = asArray('enqueue', raw);
    const results: EnqueueResult[] = [];
    for (let i = 0; i + 2 < reply.length; i += 3) {
      results.push({
        id: String(reply[i]),
        state: String(reply[i + 1]) as EnqueueResult['state'],
        duplicate: Number(reply[i + 2]) === 1,
      });
    }
    if (results.length !== specs.length) {
      throw new ScriptReplyError('enqueue', `${results.length} results for ${specs.length} tasks`);
    }
    return results;
  }

  /**
   * Reads one task record, or null when there is no such task (or it has expired).
   * @throws CorruptRecordError when the stored record cannot be decoded.
   * @throws ValidationError when `id` is not well-formed Unicode.
   */
  async getRecord(id: string): Promise<TaskRecord | null> {
    requireWellFormed([['id', id]]);
    const shard = shardOfId(this.shards, id);
    if (shard < 0) return null;
    const reply = asArray('get-task', await this.runOn(shard, getTaskScript, [id]));
    return reply.length === 0 ? null : decodeTaskRecord(id, reply);
  }

  /** The public view of one task, or null. */
  async getTask(id: string): Promise<TaskView | null> {
    const record = await this.getRecord(id);
    return record ? toTaskView(record) : null;
  }

  /**
   * Cancels a queued, delayed or failed (awaiting retry) task; a canceled one answers canceled
   * again, unchanged (so a re-sent cancel answers as the first did).
   * @throws ValidationError when `id` is not well-formed Unicode.
   */
  async cancel(id: string): Promise<CancelResult> {
    requireWellFormed([['id', id]]);
    const shard = shardOfId(this.shards, id);
    if (shard < 0) return { outcome: 'not_found' };
    const [code, state] = asArray('cancel', await this.runOn(shard, cancelScript, [id]));
    if (Number(code) === 1) return { outcome: 'canceled' };
    if (Number(code) === -1) return { outcome: 'not_found' };
    return { outcome: 'conflict', state: String(state) as TaskState };
  }

  /** Lane lengths, set sizes and running totals (summed over the shards: one call each). */
  async stats(): Promise<QueueStats> {
    if (this.shards === 1) return this.statsOf(0);
    return sumStats(this.queue, await this.everyShard((shard) => this.statsOf(shard)));
  }

  private async statsOf(shard: number): Promise<QueueStats> {
    const v = asArray('stats', await this.runOn(shard, statsScript)).map(Number);
    const at = (i: number): number => v[i] ?? 0;
    return {
      queue: this.queue,
      lanes: { high: at(0), normal: at(1), low: at(2) },
      delayed: at(3),
      active: at(4),
      succeeded: at(5),
      failed: at(6),
      dead: at(7),
      canceled: at(8),
    };
  }

  /**
   * A page of dead tasks, newest first, and how many entries the dead index holds. Ids whose
   * record has expired are skipped (and dropped from the index), so a page may hold fewer than
   * `count` tasks when many of them lie in its way, and `total` may still count expired ones the
   * call did not reach (see the list-dead script).
   */
  async listDead(offset = 0, count = 50): Promise<{ total: number; tasks: DeadTask[] }> {
    if (this.shards === 1) return this.listDeadOf(0, offset, count);
    // Each shard's newest offset + count, merged newest first.
    const pages = await this.everyShard((shard) => this.listDeadOf(shard, 0, offset + count));
    const at = (t: DeadTask): number => (t.finishedAt ? Date.parse(t.finishedAt) : 0);
    const tasks = pages
      .flatMap((p) => p.tasks)
      .sort((a, b) => at(b) - at(a))
      .slice(offset, offset + count);
    return { total: pages.reduce((n, p) => n + p.total, 0), tasks };
  }

  private async listDeadOf(
    shard: number,
    offset: number,
    count: number,
  ): Promise<{ total: number; tasks: DeadTask[] }> {
    const reply = asArray(
      'list-dead',
      await this.runOn(shard, listDeadScript, [String(offset), String(count)]),
    );
    const tasks: DeadTask[] = [];
    for (let i = 1; i + 4 < reply.length; i += 5) {
      const finished = Number(reply[i + 4]);
      tasks.push({
        id: String(reply[i]),
        type: String(reply[i + 1]),
        attempts: Number(reply[i + 2]) || 0,
        error: String(reply[i + 3]),
        finishedAt: finished > 0 ? new Date(finished).toISOString() : null,
      });
    }
    return { total: Number(reply[0]) || 0, tasks };
  }

  /**
   * Retries dead tasks by id; returns how many were retried and the ids that were not dead.
   * Safe to re-send: a call repeated after its reply was lost gets the same answer and retries
   * nothing twice.
   * @throws ValidationError (paths `ids.<index>`) when an id is not well-formed Unicode.
   */
  async retryDead(ids: readonly string[]): Promise<{ retried: number; notDead: string[] }> {
    requireWellFormed(ids.map((id, i) => [`ids.${i}`, id] as const));
    // One id per call: a transport that re-sends the call after a lost reply sends the same id,
    // so the re-sent call answers as the first did (see the retry-dead script).
    const { count, others } = await this.onShardsOfIds('retry-dead', retryDeadScript, ids, [
      'ids',
      '0',
      crypto.randomUUID(),
    ]);
    return { retried: count, notDead: others };
  }

  /**
   * Retries every dead task, oldest first, in chunks of `chunk`; returns how many.
   * @throws RangeError when `chunk` is not a positive integer (the loop would never end).
   */
  async retryAllDead(chunk = 500): Promise<number> {
    if (!Number.isInteger(chunk) || chunk < 1) {
      throw new RangeError(`retryAllDead: chunk must be a positive integer, got ${chunk}`);
    }
    let total = 0;
    for (let shard = 0; shard < this.shards; shard++) {
      for (;;) {
        const reply = asArray(
          'retry-dead',
          await this.runOn(shard, retryDeadScript, ['oldest', String(chunk)]),
        );
        const retried = Number(reply[0]) || 0;
        total += retried;
        if (reply.length - 1 + retried < chunk) break;
      }
    }
    return total;
  }

  /**
   * The overview of the queue (lanes, waits, totals, hosts and their slots, history), in one
   * script call per shard (merged, see shard-views.ts); it also samples the history when a
   * sample is due (see the snapshot script).
   */
  async overview(): Promise<QueueOverview> {
    const parts = await this.everyShard(async (shard) =>
      decodeOverview(this.queue, asArray('snapshot', await this.runOn(shard, snapshotScript))),
    );
    return this.shards === 1 ? (parts[0] as QueueOverview) : mergeOverviews(this.queue, parts);
  }

  /**
   * A page of recently enqueued tasks matching `query`, newest first, through the search index
   * (bounded, and it expires with the tasks: see `LUA_RECENT`). One call examines at most
   * `SEARCH_MAX_EXAMINED` index entries, so a page may be short, or empty, with a cursor to go
   * on; `cursor` is null once the index is walked to its end (or to `from`).
   * @throws ValidationError naming the field (`type`, `state`, `from`, `to`, `cursor`, `limit`).
   */
  async searchTasks(query: TaskQuery = {}): Promise<TaskPage> {
    const limit = query.limit ?? 50;
    refuse([
      ...filterProblems(query),
      query.state !== undefined && !(TASK_STATES as readonly string[]).includes(query.state)
        ? ['state', `must be one of ${TASK_STATES.join(', ')}`]
        : null,
      query.cursor !== undefined &&
      (wellFormedProblem(query.cursor) !== null ||
        (this.shards === 1
          ? !SEARCH_CURSOR.test(query.cursor)
          : splitCursor(query.cursor, this.shards, (c) => SEARCH_CURSOR.test(c)) === null))
        ? ['cursor', 'is not a cursor this search returned']
        : null,
      !isCount(limit, SEARCH_MAX_LIMIT) || limit < 1
        ? ['limit', `must be an integer from 1 to ${SEARCH_MAX_LIMIT}`]
        : null,
    ]);
    if (this.shards === 1) return this.searchOf(0, query, query.cursor ?? '', limit);
    // Each shard walks its own index from its own cursor; pages merged newest first.
    const parts = splitCursor(query.cursor, this.shards, () => true) ?? [];
    const pages = await this.everyShard((shard) =>
      parts[shard] === SHARD_DONE
        ? Promise.resolve({ tasks: [], cursor: null })
        : this.searchOf(shard, query, parts[shard] ?? '', limit),
    );
    return {
      tasks: mergeSummaries(
        pages.map((p) => p.tasks),
        'enqueued-desc',
      ),
      cursor: joinCursor(pages.map((p) => p.cursor ?? SHARD_DONE)),
    };
  }

  private async searchOf(
    shard: number,
    query: TaskQuery,
    cursor: string,
    limit: number,
  ): Promise<TaskPage> {
    const reply = asArray(
      'search-tasks',
      await this.runOn(shard, searchTasksScript, [
        query.type ?? '',
        query.state ?? '',
        optional(query.from),
        optional(query.to),
        cursor,
        String(limit),
      ]),
    );
    const next = String(reply[0] ?? '');
    return { tasks: decodeSummaries(reply, 1), cursor: next === '' ? null : next };
  }

  /**
   * The task an idempotency key names, or null when the key has expired or its task is gone.
   * @throws ValidationError when `key` is empty or not well-formed Unicode.
   */
  async findByIdempotencyKey(key: string): Promise<TaskSummary | null> {
    refuse([
      key === '' || wellFormedProblem(key) !== null
        ? ['key', 'must be a non-empty string of well-formed Unicode']
        : null,
    ]);
    const shard = placeTask(this.shards, '', key);
    const reply = asArray('find-by-key', await this.runOn(shard, findByKeyScript, [key]));
    return decodeSummaries(reply, 0)[0] ?? null;
  }

  /**
   * A page of a waiting list: a lane in FIFO order (next to run first), or the delayed set by
   * due time (soonest first, failed tasks awaiting their retry included). `total` is the list's
   * length; ids whose record is gone are skipped, so a page may be short.
   * @throws ValidationError naming `list`, `offset` or `count` (at most `LIST_MAX_COUNT`).
   */
  async listWaiting(
    list: WaitingList,
    offset: number,
    count: number,
  ): Promise<{ total: number; tasks: TaskSummary[] }> {
    refuse([
      WAITING_LISTS.includes(list) ? null : ['list', 'must be high, normal, low or delayed'],
      isCount(offset) ? null : ['offset', 'must be an integer >= 0'],
      isCount(count, LIST_MAX_COUNT)
        ? null
        : ['count', `must be an integer from 0 to ${LIST_MAX_COUNT}`],
    ]);
    const pages = await this.everyShard(async (shard) => {
      const reply = asArray(
        'list-waiting',
        await this.runOn(shard, listWaitingScript, [list, String(offset), String(count)]),
      );
      return { total: Number(reply[0]) || 0, tasks: decodeSummaries(reply, 1) };
    });
    if (this.shards === 1) return pages[0] as { total: number; tasks: TaskSummary[] };
    return {
      total: pages.reduce((n, p) => n + p.total, 0),
      tasks: mergeSummaries(
        pages.map((p) => p.tasks),
        list === 'delayed' ? 'run-asc' : 'enqueued-asc',
      ),
    };
  }

  /**
   * A page of dead letters matching `filter`, newest first. `total` counts the dead letters in
   * the filter's time range (not narrowed by `type`); with a type, `offset` counts matching
   * tasks. See the dead-page script for the bound on one call.
   * @throws ValidationError naming `type`, `from`, `to`, `offset` or `count`.
   */
  async deadPage(
    filter: DeadFilter,
    offset: number,
    count: number,
  ): Promise<{ total: number; tasks: TaskSummary[] }> {
    refuse([
      ...filterProblems(filter),
      isCount(offset) ? null : ['offset', 'must be an integer >= 0'],
      isCount(count, LIST_MAX_COUNT)
        ? null
        : ['count', `must be an integer from 0 to ${LIST_MAX_COUNT}`],
    ]);
    const pages = await this.everyShard(async (shard) => {
      const reply = asArray(
        'dead-page',
        await this.runOn(shard, deadPageScript, [
          filter.type ?? '',
          optional(filter.from),
          optional(filter.to),
          String(offset),
          String(count),
        ]),
      );
      return { total: Number(reply[0]) || 0, tasks: decodeSummaries(reply, 1, 'dead') };
    });
    if (this.shards === 1) return pages[0] as { total: number; tasks: TaskSummary[] };
    return {
      total: pages.reduce((n, p) => n + p.total, 0),
      tasks: mergeSummaries(
        pages.map((p) => p.tasks),
        'finished-desc',
      ),
    };
  }

  /**
   * Deletes dead tasks by id (record, dead index and search index entries); returns how many and
   * the ids that were not dead. Safe to re-send: a call repeated after its reply was lost gets
   * the same answer.
   * @throws ValidationError (paths `ids.<index>`) when an id is not well-formed Unicode.
   */
  async deleteDead(ids: readonly string[]): Promise<{ deleted: number; notDead: string[] }> {
    requireWellFormed(ids.map((id, i) => [`ids.${i}`, id] as const));
    if (ids.length === 0) return { deleted: 0, notDead: [] };
    // One id per call, repeated by a transport that re-sends it (see the delete-dead script).
    const { count, others } = await this.onShardsOfIds('delete-dead', deleteDeadScript, ids, [
      crypto.randomUUID(),
    ]);
    return { deleted: count, notDead: others };
  }

  /**
   * Retries the next chunk (at most `BULK_CHUNK`) of dead tasks matching `filter`, oldest
   * first. Start with `cursor` null and call again with the returned cursor until `done`.
   * @throws ValidationError naming `filter.type`, `filter.from`, `filter.to` or `cursor`.
   */
  retryDeadMatching(filter: DeadFilter, cursor: string | null): Promise<BulkProgress> {
    return this.deadMatching('retry', filter, cursor);
  }

  /**
   * Deletes the next chunk (at most `BULK_CHUNK`) of dead tasks matching `filter`, oldest
   * first. Start with `cursor` null and call again with the returned cursor until `done`.
   * @throws ValidationError naming `filter.type`, `filter.from`, `filter.to` or `cursor`.
   */
  deleteDeadMatching(filter: DeadFilter, cursor: string | null): Promise<BulkProgress> {
    return this.deadMatching('delete', filter, cursor);
  }

  private async deadMatching(
    action: 'retry' | 'delete',
    filter: DeadFilter,
    cursor: string | null,
  ): Promise<BulkProgress> {
    refuse([
      ...filterProblems(filter, 'filter.'),
      cursor !== null &&
      (wellFormedProblem(cursor) !== null ||
        (this.shards === 1
          ? !BULK_CURSOR.test(cursor)
          : splitCursor(cursor, this.shards, (c) => BULK_CURSOR.test(c)) === null))
        ? ['cursor', 'is not a cursor this action returned']
        : null,
    ]);
    if (this.shards === 1) return this.deadMatchingOf(0, action, filter, cursor ?? '');
    // Each shard's next chunk, each shard with its own cursor.
    const parts = splitCursor(cursor, this.shards, () => true) ?? [];
    const steps = await this.everyShard((shard) =>
      parts[shard] === SHARD_DONE
        ? Promise.resolve({ processed: 0, done: true, cursor: null })
        : this.deadMatchingOf(shard, action, filter, parts[shard] ?? ''),
    );
    const next = joinCursor(steps.map((p) => (p.done ? SHARD_DONE : (p.cursor ?? ''))));
    return {
      processed: steps.reduce((n, p) => n + p.processed, 0),
      done: next === null,
      cursor: next,
    };
  }

  private async deadMatchingOf(
    shard: number,
    action: 'retry' | 'delete',
    filter: DeadFilter,
    cursor: string,
  ): Promise<BulkProgress> {
    const reply = asArray(
      'dead-matching',
      await this.runOn(shard, deadMatchingScript, [
        action,
        filter.type ?? '',
        optional(filter.from),
        optional(filter.to),
        cursor,
        String(BULK_CHUNK),
      ]),
    );
    const next = String(reply[2] ?? '');
    return {
      processed: Number(reply[0]) || 0,
      done: Number(reply[1]) === 1,
      cursor: next === '' ? null : next,
    };
  }

  /**
   * Moves a delayed task (or a failed one awaiting its retry) to the tail of its lane now. A
   * queued task answers `queued` unchanged (so a re-sent call answers as the first did).
   * @throws ValidationError when `id` is not well-formed Unicode.
   */
  async runNow(id: string): Promise<RunNowResult> {
    requireWellFormed([['id', id]]);
    const shard = shardOfId(this.shards, id);
    if (shard < 0) return { outcome: 'not_found' };
    const [code, state] = asArray('run-now', await this.runOn(shard, runNowScript, [id]));
    if (Number(code) === 1) return { outcome: 'queued' };
    if (Number(code) === -1) return { outcome: 'not_found' };
    return { outcome: 'conflict', state: String(state) as TaskState };
  }
}
