/**
 * The operations any producer or operator runs against a queue, over any `ScriptTransport`:
 * enqueue (one or a batch, one round trip), read a task, cancel, stats, and the dead-letter
 * list. The edge uses it over @upstash/redis, the CLI over ioredis.
 *
 * Every string that becomes part of a Redis key (task ids, idempotency keys) is checked to be
 * well-formed Unicode before it is sent (`ValidationError` otherwise): Redis would receive U+FFFD
 * for an unpaired surrogate, so two different strings would name one key. `prepareEnqueue`
 * already refuses them; the check here covers specs and ids that did not come through it.
 */
import { type TaskSpec, type ValidationIssue, wellFormedProblem } from './enqueue-request.js';
import { ScriptReplyError, ValidationError } from './errors.js';
import { type QueueKeys, queueKeys } from './keys.js';
import { runScript, type ScriptTransport } from './script-runner.js';
import {
  cancelScript,
  ENQUEUE_FIELDS_PER_TASK,
  enqueueScript,
  getTaskScript,
  type LuaScript,
  listDeadScript,
  retryDeadScript,
  statsScript,
} from './scripts/index.js';
import { decodeTaskRecord, type TaskRecord, type TaskView, toTaskView } from './task-record.js';
import type { TaskState } from './task-state.js';

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

/** Options of `QueueClient`. */
export interface QueueClientOptions {
  /** The queue name. @default 'default' */
  queue?: string;
  /** Key namespace (tests use their own). @default 'forklift' */
  namespace?: string;
}

/**
 * Throws a `ValidationError` naming each `[path, value]` whose value is not well-formed Unicode.
 */
function requireWellFormed(entries: Iterable<readonly [string, string | undefined]>): void {
  const issues: ValidationIssue[] = [];
  for (const [path, value] of entries) {
    const problem = value === undefined ? null : wellFormedProblem(value);
    if (problem) issues.push({ path, message: problem });
  }
  if (issues.length > 0) throw new ValidationError(issues);
}

function asArray(script: string, reply: unknown): unknown[] {
  if (!Array.isArray(reply))
    throw new ScriptReplyError(script, `expected an array, got ${typeof reply}`);
  return reply;
}

/** Producer and operator operations on one queue. */
export class QueueClient {
  /** The queue's keys. */
  readonly keys: QueueKeys;
  readonly queue: string;

  constructor(
    private readonly transport: ScriptTransport,
    options: QueueClientOptions = {},
  ) {
    this.queue = options.queue ?? 'default';
    this.keys = queueKeys(this.queue, options.namespace);
  }

  /** Runs an engine script with this queue's KEYS and prefix. */
  run(script: LuaScript, args: readonly string[] = []): Promise<unknown> {
    return runScript(this.transport, script, this.keys.scriptKeys, [this.keys.prefix, ...args]);
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
    const reply = asArray('enqueue', await this.run(enqueueScript, args));
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
    const reply = asArray('get-task', await this.run(getTaskScript, [id]));
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
    const [code, state] = asArray('cancel', await this.run(cancelScript, [id]));
    if (Number(code) === 1) return { outcome: 'canceled' };
    if (Number(code) === -1) return { outcome: 'not_found' };
    return { outcome: 'conflict', state: String(state) as TaskState };
  }

  /** Lane lengths, set sizes and running totals. */
  async stats(): Promise<QueueStats> {
    const v = asArray('stats', await this.run(statsScript)).map(Number);
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
    const reply = asArray(
      'list-dead',
      await this.run(listDeadScript, [String(offset), String(count)]),
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
   * @throws ValidationError (paths `ids.<index>`) when an id is not well-formed Unicode.
   */
  async retryDead(ids: readonly string[]): Promise<{ retried: number; notDead: string[] }> {
    requireWellFormed(ids.map((id, i) => [`ids.${i}`, id] as const));
    const reply = asArray('retry-dead', await this.run(retryDeadScript, ['ids', '0', ...ids]));
    return { retried: Number(reply[0]) || 0, notDead: reply.slice(1).map(String) };
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
    for (;;) {
      const reply = asArray(
        'retry-dead',
        await this.run(retryDeadScript, ['oldest', String(chunk)]),
      );
      const retried = Number(reply[0]) || 0;
      total += retried;
      if (reply.length - 1 + retried < chunk) return total;
    }
  }
}
