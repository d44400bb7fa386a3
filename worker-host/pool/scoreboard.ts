/**
 * The scoreboard: one small file per child in which the child writes, just before each run, the
 * task it is starting (and `idle` when its line runs dry); the parent reads it only when it must
 * act on a child (a deadline passed, the child died, a renewal is due, shutdown).
 *
 * Why a file: a directly settling child reports to the parent lazily (batched every few ms, see
 * child-main.ts), because a message per task costs both processes a system call and a wake-up on
 * the task's path. A child blocked in a synchronous handler cannot send its report, so the
 * parent would not know which task a hang or a crash belongs to; the scoreboard tells it,
 * at the price of one write to a memory-backed file per run (no other process is woken).
 * Gunicorn's worker heartbeat files are the same idea.
 *
 * A report from the child carries the sequence number of its last scoreboard write: an entry no
 * newer than the last report tells the parent nothing new (that run was reported, finished or
 * named as the head), so it is ignored; this is what keeps a finished run from being mistaken
 * for one not reported yet.
 *
 * Format: one line of JSON `{"s":seq,"task":...,"at":startedAt,"e":seq}` (or with `"task":null`
 * when idle) written at offset 0; bytes after the first newline are left over from a longer
 * earlier line. `s` and `e` repeat the sequence number, so a read that raced a write (it sees
 * the start of one line and the end of another) is detected and retried.
 */
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LeasedTask } from './protocol.js';

/** What a child last wrote: the run it is in (with its start time), or null when idle. */
export interface ScoreboardEntry {
  /** The write's sequence number (1, 2, ... per child); reports carry the latest. */
  seq: number;
  task: LeasedTask | null;
  startedAt: number;
}

/**
 * A directory for a pool's scoreboards: in /dev/shm (memory-backed) where the system has one we
 * may write to, else in the temporary directory.
 * @throws Error naming both places when neither takes a directory
 */
export function makeScoreboardDir(): string {
  const bases = existsSync('/dev/shm') ? ['/dev/shm', tmpdir()] : [tmpdir()];
  const failures: string[] = [];
  for (const base of bases) {
    try {
      return mkdtempSync(join(base, 'forklift-'));
    } catch (error) {
      failures.push(`${base}: ${(error as Error).message}`);
    }
  }
  throw new Error(
    `cannot make a scoreboard directory for the pool (set TMPDIR to a writable directory): ${failures.join('; ')}`,
  );
}

/** Removes a pool's scoreboard directory. */
export function removeScoreboardDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The child's side: writes its current run. */
export class ScoreboardWriter {
  private readonly fd: number;
  private written = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  /**
   * Records that `task` starts now (null: the child is idle). The payload is left out; the line
   * is built by hand because it is written for every run.
   */
  write(task: LeasedTask | null): void {
    const seq = ++this.written;
    let entry = 'null';
    if (task) {
      const { id, type, attempt, maxAttempts, priority } = task.task;
      entry =
        `{"token":${JSON.stringify(task.token)},"lease":${JSON.stringify(task.lease)},` +
        `"timeoutMs":${task.timeoutMs},"task":{"id":${JSON.stringify(id)},` +
        `"type":${JSON.stringify(type)},"attempt":${attempt},"maxAttempts":${maxAttempts},` +
        `"priority":"${priority}"}}`;
    }
    writeSync(this.fd, `{"s":${seq},"task":${entry},"at":${Date.now()},"e":${seq}}\n`, 0);
  }

  /** The sequence number of the last write (0 before the first). */
  get seq(): number {
    return this.written;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * The parent's side: what the child at `path` last wrote, or undefined when nothing readable
 * is there (no file yet, or a write kept racing the read).
 */
export function readScoreboard(path: string): ScoreboardEntry | undefined {
  for (let attempt = 0; attempt < 5; attempt++) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
    const end = text.indexOf('\n');
    if (end < 0) continue;
    const line = text.slice(0, end);
    try {
      const parsed = JSON.parse(line) as {
        s: number;
        task: LeasedTask | null;
        at: number;
        e: number;
      };
      if (parsed.s === parsed.e) return { seq: parsed.s, task: parsed.task, startedAt: parsed.at };
    } catch {
      // A torn read: try again.
    }
  }
  return undefined;
}
