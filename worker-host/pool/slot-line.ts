/**
 * The host's mirror of one child's line: the tasks the child holds, head first (the run it is
 * in), with the clock of that run.
 *
 * Three sources feed it and may cross: the tasks the host sends the child (`add`), the child's
 * reports of finished runs and of tasks it leased itself (`finish`, `mirrorLeased`, `syncHead`;
 * a directly settling child reports lazily, a few ms late), and the child's scoreboard
 * (`applyScoreboard`), which names the run it is really in. Every report carries the sequence
 * number of the child's last scoreboard write, so a scoreboard entry no newer than the last
 * report adds nothing and is ignored: that is what keeps a finished run from being taken for
 * one not reported yet.
 */
import type { ChildMessage, CorruptClaim, LeasedTask, RunOutcome } from './protocol.js';
import { RunDeadline } from './run-deadline.js';
import type { ScoreboardEntry } from './scoreboard.js';

/** A task assigned to a slot, with what the host needs to finish it in Redis. */
export interface SlotTask extends LeasedTask {
  /** When it became the head of its slot's queue (the child started it). */
  startedAt?: number;
  /** Learnt from the scoreboard, not yet from a report: it may have finished already. */
  unconfirmed?: boolean;
}

/** A finished run and how it ended. */
export interface FinishedRun {
  task: SlotTask;
  outcome: RunOutcome;
}

/** What a child reported of the runs it settled itself. */
export interface SettledReport {
  /** The runs stored; `stored[i]` false: the lease of `finished[i]` had been lost. */
  finished: FinishedRun[];
  stored: boolean[];
  /** Tasks the child leased to its tokens (already in its line). */
  claimed: SlotTask[];
  /** Tasks the child leased that do not decode (not run; to be sent to dead). */
  corrupt: CorruptClaim[];
  /** Each token the report touched: the task holding it now, or undefined when it is free. */
  tokens: Map<string, SlotTask | undefined>;
}

type Report<T extends ChildMessage['t']> = Extract<ChildMessage, { t: T }>;

/** One child's line as the host sees it. */
export class SlotLine {
  private tasks: SlotTask[] = [];
  private readonly deadline: RunDeadline;
  /** The scoreboard sequence number of the child's latest report. */
  private reportedSeq = 0;
  /** When the child last reported (or was handed work while idle). */
  reportedAt = 0;

  /** @param onOverdue called once when the head run passes its timeout */
  constructor(onOverdue: (task: SlotTask) => void) {
    this.deadline = new RunDeadline(() => this.tasks[0], onOverdue);
  }

  /** The run the child is in (or starts next). */
  get head(): SlotTask | undefined {
    return this.tasks[0];
  }

  get length(): number {
    return this.tasks.length;
  }

  /** A new child starts with an empty line and a new scoreboard. */
  reset(): void {
    this.clear();
    this.reportedSeq = 0;
  }

  /** Empties the line; returns what it held, head first. */
  clear(): SlotTask[] {
    const held = this.tasks;
    this.tasks = [];
    this.deadline.clear();
    return held;
  }

  /** Appends a task the host hands the child; returns true when the line was empty. */
  add(task: SlotTask): boolean {
    this.tasks.push(task);
    if (this.tasks.length > 1) return false;
    this.deadline.start();
    this.reportedAt = Date.now();
    return true;
  }

  /** A `done` report: removes and returns the runs that ended (for the host to settle). */
  applyDone(report: Report<'done'>, unknown: (id: string) => void): FinishedRun[] {
    return this.fromReport(report, () => this.finish(report.results, unknown));
  }

  /**
   * A `settled` report: mirrors the tasks the child leased itself (first: a lazy report may both
   * lease a task and finish it), removes the runs it stored, and says where each token it touched
   * stands now.
   */
  applySettled(report: Report<'settled'>, unknown: (id: string) => void): SettledReport {
    return this.fromReport(report, () => {
      const claimed = this.mirrorLeased(report.claimed);
      const finished = this.finish(
        report.ids.map((id, i) => ({ id, ms: report.ms[i] ?? 0, ok: true })),
        unknown,
      );
      const tokens = new Map<string, SlotTask | undefined>();
      for (const { token } of [...claimed, ...finished.map((f) => f.task)]) {
        tokens.set(token, this.holderOf(token));
      }
      return { finished, stored: report.stored, claimed, corrupt: report.corrupt, tokens };
    });
  }

  /** A `given-back` report: removes and returns the tasks handed back unstarted. */
  applyGivenBack(report: Report<'given-back'>): SlotTask[] {
    return this.fromReport(report, () => this.remove(report.ids));
  }

  /** Applies a report, then puts the run it names first. */
  private fromReport<T>(report: { seq: number; head: string | null }, apply: () => T): T {
    this.noteReport(report.seq);
    const headBefore = this.tasks[0];
    const result = apply();
    this.syncHead(headBefore, report.head);
    return result;
  }

  /** A report came, written after scoreboard write `seq`. */
  noteReport(seq: number): void {
    this.reportedSeq = Math.max(this.reportedSeq, seq);
    this.reportedAt = Date.now();
  }

  /**
   * Mirrors tasks the child leased itself (already in its line); a task learnt from the
   * scoreboard is there already and now confirmed. Returns the line's entries for them.
   */
  mirrorLeased(leased: readonly LeasedTask[]): SlotTask[] {
    return leased.map((task) => {
      const known = this.find(task.task.id);
      if (known) {
        known.unconfirmed = false;
        return known;
      }
      const entry: SlotTask = { ...task };
      this.tasks.push(entry);
      return entry;
    });
  }

  /** Removes the reported runs; `unknown` gets the ids the line does not hold. */
  finish(results: readonly RunOutcome[], unknown: (id: string) => void): FinishedRun[] {
    const finished: FinishedRun[] = [];
    for (const outcome of results) {
      const index = this.tasks.findIndex((t) => t.task.id === outcome.id);
      if (index < 0) {
        unknown(outcome.id);
        continue;
      }
      const [task] = this.tasks.splice(index, 1);
      if (task) finished.push({ task, outcome });
    }
    return finished;
  }

  /** Removes the tasks with these ids (handed back unstarted); returns those it held. */
  remove(ids: readonly string[]): SlotTask[] {
    const wanted = new Set(ids);
    const removed = this.tasks.filter((t) => wanted.has(t.task.id));
    this.tasks = this.tasks.filter((t) => !wanted.has(t.task.id));
    return removed;
  }

  /** The task holding `token` now, if any. */
  holderOf(token: string): SlotTask | undefined {
    return this.tasks.find((t) => t.token === token);
  }

  /**
   * Puts the run the child said it is in (`head`, from a report) first, and starts the clock of
   * a head that changed since `headBefore`.
   */
  syncHead(headBefore: SlotTask | undefined, head: string | null): void {
    if (head !== null && this.tasks[0]?.task.id !== head) {
      const index = this.tasks.findIndex((t) => t.task.id === head);
      if (index > 0) this.tasks.unshift(...this.tasks.splice(index, 1));
    }
    if (this.tasks.length === 0) this.deadline.clear();
    else if (this.tasks[0] !== headBefore) this.deadline.start();
  }

  /**
   * Puts the run the scoreboard names first, with the start time the child wrote: a task in the
   * line is moved there, an unknown one (leased by the child, not reported yet) is added there,
   * marked `unconfirmed`, and returned.
   */
  applyScoreboard(entry: ScoreboardEntry | undefined): SlotTask | undefined {
    if (!entry?.task || entry.seq <= this.reportedSeq) return undefined;
    const { task, startedAt } = entry;
    const index = this.tasks.findIndex((t) => t.task.id === task.task.id);
    if (index === 0) {
      // The child's own start time: the host's is when it heard, a few ms later.
      (this.tasks[0] as SlotTask).startedAt = startedAt;
      return undefined;
    }
    const discovered = index < 0;
    const head: SlotTask = discovered
      ? { ...task, unconfirmed: true }
      : (this.tasks.splice(index, 1)[0] as SlotTask);
    head.startedAt = startedAt;
    this.tasks.unshift(head);
    this.deadline.clear();
    this.deadline.rearm();
    return discovered ? head : undefined;
  }

  private find(id: string): SlotTask | undefined {
    return this.tasks.find((t) => t.task.id === id);
  }
}
