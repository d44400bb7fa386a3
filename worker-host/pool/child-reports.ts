/**
 * What a child tells its parent, and when (the messages are in protocol.ts).
 *
 * Outcomes for the parent to settle (failures, and every run when the child does not settle
 * directly) go out on the next turn of the event loop, several per message when they finish
 * together. Reports of runs the child settled itself are lazy: they are gathered for up to
 * LAZY_REPORT_MS and sent together, so a line of short tasks costs the parent a wake-up every
 * few ms instead of one per task; they go at once when the child runs dry (the parent then
 * frees its tokens and may stop it), when a leased record did not decode, or when many are
 * waiting. A report always goes before any other message, so the parent hears of a lease before
 * a message names it. What the lazy report leaves the parent not knowing yet, the scoreboard
 * tells it (scoreboard.ts).
 */
import type { ChildMessage, CorruptClaim, LeasedTask, RunOutcome } from './protocol.js';

/** Longest a settled run waits to be reported while the child is busy. */
export const LAZY_REPORT_MS = 20;
/** A lazy report goes at once past this many runs. */
const MAX_REPORTED_RUNS = 256;

/** A settled report being gathered. */
interface PendingReport {
  ids: string[];
  stored: boolean[];
  ms: number[];
  claimed: LeasedTask[];
  corrupt: CorruptClaim[];
}

/** The child's outgoing reports. */
export class ChildReports {
  private outbox: RunOutcome[] = [];
  private outboxScheduled = false;
  private settledReport: PendingReport | undefined;
  private settledTimer: NodeJS.Timeout | undefined;

  /**
   * @param send writes a message to the parent
   * @param head the run the child is in or starts next (named in every message)
   * @param residentBytes the child's memory, for the parent's recycling check
   * @param scoreboardSeq the sequence number of the child's last scoreboard write
   */
  constructor(
    private readonly send: (message: ChildMessage) => void,
    private readonly head: () => string | null,
    private readonly residentBytes: () => number,
    private readonly scoreboardSeq: () => number,
  ) {}

  /** Outcomes waiting to go to the parent. */
  get waitingOutcomes(): number {
    return this.outbox.length;
  }

  /** Queues an outcome for the parent to settle; it goes out on the next turn at the latest. */
  outcome(outcome: RunOutcome): void {
    this.outbox.push(outcome);
    if (!this.outboxScheduled) {
      this.outboxScheduled = true;
      setImmediate(() => this.flushOutcomes());
    }
  }

  /** Sends the queued outcomes now. */
  flushOutcomes(): void {
    this.outboxScheduled = false;
    if (this.outbox.length === 0) return;
    this.flushSettled();
    const results = this.outbox;
    this.outbox = [];
    this.send({
      t: 'done',
      results,
      head: this.head(),
      seq: this.scoreboardSeq(),
      rssBytes: this.residentBytes(),
    });
  }

  /**
   * Records runs the child stored itself (with their wall times `ms`; `stored[i]` false: the
   * lease was lost) and the tasks it leased; reported at once when `urgent`, else within
   * LAZY_REPORT_MS.
   */
  settled(
    ids: readonly string[],
    ms: readonly number[],
    stored: readonly boolean[],
    claimed: readonly LeasedTask[],
    corrupt: readonly CorruptClaim[],
    urgent: boolean,
  ): void {
    this.settledReport ??= { ids: [], ms: [], stored: [], claimed: [], corrupt: [] };
    const report = this.settledReport;
    report.ids.push(...ids);
    report.ms.push(...ms);
    report.stored.push(...stored);
    // The parent never needs a payload: leave it out of the report.
    for (const c of claimed) report.claimed.push({ ...c, task: { ...c.task, payload: undefined } });
    report.corrupt.push(...corrupt);
    if (urgent || corrupt.length > 0 || report.ids.length >= MAX_REPORTED_RUNS) {
      this.flushSettled();
    } else {
      this.settledTimer ??= setTimeout(() => this.flushSettled(), LAZY_REPORT_MS);
    }
  }

  /** Sends the gathered settled report now. */
  flushSettled(): void {
    if (this.settledTimer) clearTimeout(this.settledTimer);
    this.settledTimer = undefined;
    const report = this.settledReport;
    if (!report) return;
    this.settledReport = undefined;
    this.send({
      t: 'settled',
      ...report,
      head: this.head(),
      seq: this.scoreboardSeq(),
      rssBytes: this.residentBytes(),
    });
  }

  /** Hands tasks back unstarted (after everything waiting, so the parent knows them). */
  givenBack(ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.flushAll();
    this.send({ t: 'given-back', ids: [...ids], head: this.head(), seq: this.scoreboardSeq() });
  }

  /** Sends everything waiting. */
  flushAll(): void {
    this.flushSettled();
    this.flushOutcomes();
  }
}
