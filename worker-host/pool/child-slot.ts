/**
 * The child's side of its slot (see protocol.ts): it owns the slot while busy.
 *
 * States of a child, all here:
 *
 *   idle ──run──► busy ──(line empty, every run recorded, no call out)──► idle ──stop──► exit
 *                  │
 *                  └──drain (shutdown), or past its memory limit──► draining ──(the run it is in
 *                     recorded, the rest of the line given back)──► idle
 *
 * While busy it runs its line one task at a time, in order, and records the runs it ended with
 * finish calls: a run's result, failure or give-back, and in the same call the next task for
 * every free token of the slot. With a line of one (strict semaphore) that is one call per run;
 * with prefetch it records half a line per call while the other half runs, and at the latest on
 * the next turn of the event loop after a run ended, so a result never waits behind a slow run.
 * At most MAX_CALLS_OUT calls are out at once, each on tokens no other call out names. A call
 * that fails (Redis away, a lost reply) is sent again as it was until Redis answers: the finish
 * script is safe to re-send.
 *
 * It keeps its run board up to date (run-board.ts): what it holds after every change, which run
 * it is in before each run, and that it is in none after a run no other follows at once. It
 * reports the runs it ended lazily, within REPORT_MS, and at once when it turns idle.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { toLeasedTask } from '../engine/claimed-task.js';
import type { ClaimedTask, EngineScripts, RunEnd } from '../engine/host-scripts.js';
import { type LaneOrder, strictLaneOrder, weightedLaneOrder } from '../engine/lane-order.js';
import type { HandlerSet } from '../handler-api.js';
import { abortRun, errorText, type RunOutcome, runTask } from './child-run.js';
import type { ChildConfig, ChildMessage, EndedRun, LeasedTask, RunError } from './protocol.js';
import type { RunBoardWriter } from './run-board.js';
import { hostAlive } from './watchdog.js';

/**
 * A busy child promotes due delayed tasks with at most one of its calls in this many ms (the
 * host's upkeep tick promotes too): a check per run would cost Redis a call per task.
 */
const PROMOTE_EVERY_MS = 100;

/**
 * Longest a busy child keeps the runs it ended before it tells the host: a message per run would
 * wake the host for every task (see run-board.ts for what that cost).
 */
export const REPORT_MS = 20;

/** A run ended and not yet recorded in Redis (flat: one is made per task). */
interface ToRecord {
  task: LeasedTask;
  end: RunEnd;
  ms: number;
  ok: boolean;
  error: RunError | undefined;
}

/**
 * A finish call out: the tasks whose ends it records, the tokens it ends or fills (no other call
 * may fill them meanwhile; none kept for a line of one), and how many tasks it may lease at most
 * (for the run limit).
 */
interface CallOut {
  recording: readonly LeasedTask[];
  tokens: readonly string[];
  leases: number;
}

const NO_TOKENS: readonly string[] = [];
const FREE = { free: true } as const;

/**
 * Finish calls a child keeps out at once, on disjoint tokens: with prefetch, the next half line
 * is recorded (and refilled) while the reply for the last one is still on its way, so the line
 * does not run dry waiting for it. Each call is safe to re-send on its own (its tokens are its).
 */
const MAX_CALLS_OUT = 2;

/** How often, at most, a busy child looks at its parent pid before it leases. */
const HOST_CHECK_MS = 10;

/** The child's slot. */
export class ChildSlot {
  /** Tasks waiting in line, in order (the one running is not among them). */
  private readonly line: LeasedTask[] = [];
  private running: LeasedTask | undefined;
  private toRecord: ToRecord[] = [];
  /** The finish calls out (at most MAX_CALLS_OUT). */
  private readonly callsOut = new Set<CallOut>();
  private draining = false;
  private pumping = false;
  private urgentScheduled = false;
  private reportTimer: NodeJS.Timeout | undefined;
  /** What the last report said: the host owns the slot after an idle report. */
  private reportedIdle = true;
  private ran = 0;
  private promotedAt = 0;
  private hostCheckedAt = 0;
  private hostGone = false;
  private readonly order: LaneOrder;
  private readonly batchSize: number;
  private ended: EndedRun[] = [];
  /** Runs the host aborted at the end of a shutdown's grace. */
  private readonly aborted = new Set<string>();

  constructor(
    private readonly config: ChildConfig,
    private readonly scripts: EngineScripts,
    private readonly handlers: HandlerSet,
    private readonly send: (message: ChildMessage) => void,
    private readonly board: RunBoardWriter,
  ) {
    this.order = config.weights ? weightedLaneOrder(config.weights) : strictLaneOrder;
    // Half a line per call, so the other half keeps the child busy while the call is out.
    this.batchSize = Math.max(1, Math.floor(config.tokens.length / 2));
  }

  /** The host hands the idle child a line of tasks. */
  run(tasks: readonly LeasedTask[]): void {
    this.reportedIdle = false;
    this.line.push(...tasks);
    this.board.holding(this.held());
    void this.pump();
  }

  /** Every task the slot holds: the run under way, the line, and runs not yet recorded. */
  private held(): LeasedTask[] {
    const held = this.running ? [this.running, ...this.line] : [...this.line];
    for (const r of this.toRecord) held.push(r.task);
    for (const call of this.callsOut) held.push(...call.recording);
    return held;
  }

  /**
   * The host's grace period ended: the run's AbortSignal fires, and if the run then fails it
   * is given back (attempt refunded) rather than failed: the abort was not the task's doing.
   */
  abort(id: string, reason: string): void {
    this.aborted.add(id);
    abortRun(id, reason);
  }

  /** Shutdown: finish the run under way, lease nothing more, give back the rest, say idle. */
  drain(): void {
    this.draining = true;
    this.record(true);
    this.reportIfIdle();
  }

  /** Runs the line, one task at a time, noting each run on the board. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        if (this.draining) break;
        const next = this.line.shift();
        if (!next) break;
        this.running = next;
        this.board.running(next, Date.now());
        const outcome = await runTask(this.handlers, next.task);
        this.running = undefined;
        this.ran++;
        this.toRecord.push(toRecordOf(next, outcome, this.aborted.has(next.task.id)));
        if (this.overMemory()) this.draining = true;
        // A next run starts in this same turn and overwrites the run line: marking the gap would
        // cost a write per task (~5 % of a prefetching child's CPU) for a state no reader sees.
        // Otherwise the gap is marked once the finish call is out, so Redis has it sooner.
        const gap = this.draining || this.line.length === 0;
        this.record(false);
        if (gap) this.board.between();
      }
    } finally {
      this.pumping = false;
    }
    this.board.flush();
    this.record(true);
    this.reportIfIdle();
  }

  /**
   * Sends a finish call when one is due and fewer than MAX_CALLS_OUT are out: at once when the
   * line has run dry, when half a line waits to be recorded, or when draining; otherwise on the
   * next turn of the event loop (`urgent`), unless the runs went on synchronously and filled the
   * batch first.
   */
  private record(urgent: boolean): void {
    if (this.callsOut.size >= MAX_CALLS_OUT) return;
    const releases = this.draining ? this.line.splice(0) : [];
    if (this.toRecord.length === 0 && releases.length === 0) return;
    const due =
      urgent || this.draining || this.line.length === 0 || this.toRecord.length >= this.batchSize;
    if (!due) {
      if (!this.urgentScheduled) {
        this.urgentScheduled = true;
        setImmediate(() => {
          this.urgentScheduled = false;
          this.record(true);
        });
      }
      return;
    }
    void this.call(this.toRecord.splice(0), releases);
  }

  /** One finish call, sent again as it is until Redis answers; then the next runs. */
  private async call(runs: ToRecord[], releases: LeasedTask[]): Promise<void> {
    const ends: RunEnd[] = [];
    const recording: LeasedTask[] = [];
    for (const r of runs) {
      ends.push(r.end);
      recording.push(r.task);
    }
    for (const t of releases) {
      const { token, lease } = t;
      ends.push({ token, id: t.task.id, lease, kind: 'release', priority: t.task.priority });
      recording.push(t);
    }
    // A line of one (the strict semaphore) has no token but the run's.
    let freeTokens = NO_TOKENS;
    if (this.config.tokens.length > 1) {
      const held = new Set<string>();
      for (const call of this.callsOut) for (const token of call.tokens) held.add(token);
      for (const e of ends) held.add(e.token);
      if (this.running) held.add(this.running.token);
      for (const t of this.line) held.add(t.token);
      freeTokens = this.config.tokens.filter((token) => !held.has(token));
    }
    const leases = ends.length + freeTokens.length;
    const then = this.mayLease(leases)
      ? {
          lease: {
            leaseMs: this.config.leaseMs,
            order: this.order.next(),
            promote: this.promoteDue(),
          },
        }
      : FREE;
    const out: CallOut = {
      recording,
      tokens:
        this.config.tokens.length > 1 ? [...ends.map((e) => e.token), ...freeTokens] : NO_TOKENS,
      leases: then === FREE ? 0 : leases,
    };
    this.callsOut.add(out);
    let reply: Awaited<ReturnType<EngineScripts['finish']>>;
    for (let tries = 0; ; tries++) {
      try {
        reply = await this.scripts.finish(ends, then, freeTokens);
        break;
      } catch {
        await sleep(Math.min(100 * 2 ** tries, 2_000));
      }
    }
    this.callsOut.delete(out);
    for (let i = 0; i < recording.length; i++) {
      const r = runs[i];
      const task = recording[i] as LeasedTask;
      this.ended.push({
        id: task.task.id,
        type: task.task.type,
        attempt: task.task.attempt,
        ms: r?.ms ?? 0,
        ok: r?.ok ?? true,
        error: r?.error,
        outcome: reply.outcomes[i] ?? 'lost',
      });
    }
    for (const claimed of reply.leased) this.adopt(claimed);
    this.board.holding(this.held());
    this.scheduleReport();
    if (this.running) {
      // The run under way may be long: the host must see the new tasks now.
      this.board.flush();
      this.record(false);
    } else void this.pump();
  }

  /** Puts a task leased to this slot in line; one whose record does not decode goes to dead. */
  private adopt(claimed: ClaimedTask): void {
    const decoded = toLeasedTask(claimed);
    if ('task' in decoded) {
      this.line.push(decoded);
      return;
    }
    const { end, error } = decoded;
    const task: LeasedTask = {
      token: end.token,
      lease: end.lease,
      timeoutMs: 0,
      task: unknownTask(end.id),
    };
    this.toRecord.push({
      task,
      end,
      ms: 0,
      ok: false,
      error: { name: 'CorruptRecordError', message: error, unrecoverable: true },
    });
  }

  /**
   * True when the next call may lease `tokens` more tasks: not draining, within its run limit, and
   * its host still there (looked at every HOST_CHECK_MS at most: a parent pid read is a system
   * call; the watchdog kills an orphan within 200 ms anyway).
   */
  private mayLease(tokens: number): boolean {
    if (this.draining) return false;
    const now = Date.now();
    if (now - this.hostCheckedAt >= HOST_CHECK_MS) {
      this.hostCheckedAt = now;
      this.hostGone = !hostAlive(this.config.hostPid);
    }
    if (this.hostGone) return false;
    const { maxTasks } = this.config;
    let held = this.ran + this.line.length + (this.running ? 1 : 0);
    for (const call of this.callsOut) held += call.leases;
    return maxTasks === null || held + tokens <= maxTasks;
  }

  private promoteDue(): boolean {
    const now = Date.now();
    if (now - this.promotedAt < PROMOTE_EVERY_MS) return false;
    this.promotedAt = now;
    return true;
  }

  /** True when the child has a memory limit and is past it. */
  private overMemory(): boolean {
    const { maxRssBytes } = this.config;
    return maxRssBytes !== null && process.memoryUsage.rss() > maxRssBytes;
  }

  private get idle(): boolean {
    return (
      !this.running &&
      this.line.length === 0 &&
      this.toRecord.length === 0 &&
      this.callsOut.size === 0
    );
  }

  /** Reports the runs it ended within REPORT_MS (at once if it turns idle first). */
  private scheduleReport(): void {
    if (this.reportTimer) return;
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined;
      if (this.ended.length > 0) this.report();
    }, REPORT_MS);
  }

  private reportIfIdle(): void {
    if (this.idle && !this.reportedIdle) this.report();
  }

  private report(): void {
    if (this.reportTimer) clearTimeout(this.reportTimer);
    this.reportTimer = undefined;
    const idle = this.idle;
    this.reportedIdle = idle;
    const { ended } = this;
    this.ended = [];
    this.send({
      t: 'report',
      ended,
      idle,
      rssBytes: this.config.maxRssBytes === null ? 0 : process.memoryUsage.rss(),
    });
  }
}

/**
 * How a finished run is recorded: a success, a failure, straight to dead, or (a run the host
 * aborted that failed) given back.
 */
function toRecordOf(task: LeasedTask, outcome: RunOutcome, aborted: boolean): ToRecord {
  const { token, lease } = task;
  const { id, priority } = task.task;
  if (outcome.ok) {
    return {
      task,
      end: { token, id, lease, priority, kind: 'ok', resultJson: outcome.resultJson },
      ms: outcome.ms,
      ok: true,
      error: undefined,
    };
  }
  const { error } = outcome;
  const end: RunEnd = aborted
    ? { token, id, lease, priority, kind: 'release' }
    : {
        token,
        id,
        lease,
        priority,
        kind: error.unrecoverable ? 'fatal' : 'fail',
        error: errorText(error),
      };
  return { task, end, ms: outcome.ms, ok: false, error };
}

/** A stand-in for a leased task whose record does not decode (it goes to dead unrun). */
function unknownTask(id: string): LeasedTask['task'] {
  return { id, type: '?', payload: undefined, attempt: 0, maxAttempts: 0, priority: 'normal' };
}
