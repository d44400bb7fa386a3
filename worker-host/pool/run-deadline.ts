/**
 * The timeout clock of a slot: one timer for the run at the head of the slot's line, armed for
 * its deadline when it becomes the head and re-armed lazily (when the timer fires early for a
 * head that started later), so a long line of short runs costs no timer churn.
 */
import type { SlotTask } from './slot-line.js';

/** One slot's run clock. */
export class RunDeadline {
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param head the run at the head of the slot's line, if any
   * @param onOverdue called once when that run passes its timeout
   */
  constructor(
    private readonly head: () => SlotTask | undefined,
    private readonly onOverdue: (task: SlotTask) => void,
  ) {}

  /** The head run starts now. */
  start(): void {
    const head = this.head();
    if (!head) return;
    head.startedAt = Date.now();
    this.arm();
  }

  /** Arms the clock for the head run's own start time (set by whoever changed the head). */
  rearm(): void {
    this.arm();
  }

  /** No run is left: stop the clock. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.timer) return;
    const head = this.head();
    if (!head?.startedAt) return;
    const wait = Math.max(0, head.startedAt + head.timeoutMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const current = this.head();
      if (!current?.startedAt) return;
      if (Date.now() < current.startedAt + current.timeoutMs) this.arm();
      else this.onOverdue(current);
    }, wait);
  }
}
