/**
 * The pool's side of the scoreboards (scoreboard.ts): one directory per pool, one file per child,
 * and a watch that, while any slot is busy, looks every WATCH_MS at the slots whose child has not
 * reported for that long, so a run a child leased itself and then hung in still meets its own
 * timeout. The watch runs only while a slot is busy: an idle host costs no CPU.
 */
import { join } from 'node:path';
import { makeScoreboardDir, removeScoreboardDir } from './scoreboard.js';
import type { SlotLine } from './slot-line.js';

/** How often the pool looks at the scoreboards of busy children that have not reported. */
const WATCH_MS = 50;

/** Scoreboard files and the quiet-slot watch of one pool. */
export class ScoreboardWatch<S extends { line: SlotLine }> {
  private dir: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param slots the pool's slots
   * @param onQuiet called for a busy slot whose child has not reported for WATCH_MS
   */
  constructor(
    private readonly slots: readonly S[],
    private readonly onQuiet: (slot: S) => void,
  ) {}

  /** Makes the directory (children settle directly, so they keep scoreboards). */
  open(): void {
    this.dir = makeScoreboardDir();
  }

  /** The path of a new scoreboard file, or undefined when the pool keeps none. */
  fileFor(name: string): string | undefined {
    return this.dir === undefined ? undefined : join(this.dir, name);
  }

  /** A slot became busy: the watch runs until none is. */
  busy(): void {
    if (this.timer || !this.dir) return;
    this.timer = setInterval(() => this.tick(), WATCH_MS);
    this.timer.unref();
  }

  /** Stops the watch and removes the directory. */
  close(): void {
    this.stop();
    if (this.dir) removeScoreboardDir(this.dir);
    this.dir = undefined;
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    let busy = false;
    const quietSince = Date.now() - WATCH_MS;
    for (const slot of this.slots) {
      if (slot.line.length === 0) continue;
      busy = true;
      if (slot.line.reportedAt < quietSince) this.onQuiet(slot);
    }
    if (!busy) this.stop();
  }
}
