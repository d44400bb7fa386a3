/**
 * A child's run board: which tasks it holds, and which one it runs since when. The child writes
 * it as that changes; the host reads it only when it acts on the child: its renewals (every
 * lease/3), its timeout watch (every 50 ms while the child is busy), the child's death, the end
 * of a shutdown's grace.
 *
 * Why it exists beside the report channel (protocol.ts). The host must renew every lease a busy
 * child holds, time every run and, when the child dies, know which task it was in: all of that
 * for tasks the child leased itself, and even while the child is stuck in a synchronous run and
 * sends nothing. Telling the host over IPC, one message per task, cost the host and the children
 * about 40 µs of CPU per task (engine benchmark, no-op tasks, pool of 2, strict semaphore: 16 + 102
 * against 36 + 134 µs) and a fifth of the throughput. A write to this board costs the child one
 * system call (3-4 µs on the 2-core VM, in CPU profiles) and wakes nobody: a prefetching child
 * writes about once per run, a strict one twice. So reports stay lazy.
 *
 * The board is a file the host creates and unlinks at once, then passes to the child as fd 4: no
 * path exists, so nothing is left behind when either is killed. Two regions, each a block of
 * tab-separated lines framed by a write counter `n`, rewritten in place:
 *
 *   offset 0 (the run):    `<n>\t<startedAt>\t<task>\t<n>\n` while a run is under way, `<n>\t-\t<n>\n` between runs
 *   offset RUN_BYTES (held): `<n>\n<task>\n...<n>\n`, every task leased to the slot and not yet ended in Redis
 *
 * where `<task>` is `<token>\t<lease>\t<timeoutMs>\t<attempt>\t<type>\t<id>`. A read that catches a
 * write half-way sees two different `n` and reads again.
 */
import { closeSync, existsSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LeasedTask } from './protocol.js';

/** The file descriptor the board has in a child. */
export const BOARD_FD = 4;

/** Bytes of the run region; the held region follows. */
const RUN_BYTES = 1024;
/** Bytes a held task's line may take. */
const TASK_BYTES = 512;

/** A task on a board: what the host needs to renew it, time it, or end it. */
export interface BoardTask {
  token: string;
  lease: string;
  timeoutMs: number;
  attempt: number;
  type: string;
  id: string;
}

/** The run under way. */
export interface BoardRun extends BoardTask {
  startedAt: number;
}

function taskLine(t: LeasedTask): string {
  return `${t.token}\t${t.lease}\t${t.timeoutMs}\t${t.task.attempt}\t${t.task.type}\t${t.task.id}`;
}

function parseTask(fields: readonly string[]): BoardTask | undefined {
  if (fields.length !== 6) return undefined;
  const [token, lease, timeoutMs, attempt, type, id] = fields as string[];
  return {
    token: token as string,
    lease: lease as string,
    timeoutMs: Number(timeoutMs),
    attempt: Number(attempt),
    type: type as string,
    id: id as string,
  };
}

/** A task on the board as the slot's line holds it (its payload stays with the child). */
export function boardTaskToLeased(task: BoardTask): LeasedTask {
  return {
    token: task.token,
    lease: task.lease,
    timeoutMs: task.timeoutMs,
    task: {
      id: task.id,
      type: task.type,
      payload: undefined,
      attempt: task.attempt,
      maxAttempts: 0,
      priority: 'normal',
    },
  };
}

/** The host's end of one child's board. */
export class RunBoard {
  private readonly buffer: Buffer;

  private constructor(
    readonly fd: number,
    private readonly heldBytes: number,
  ) {
    this.buffer = Buffer.alloc(Math.max(RUN_BYTES, heldBytes));
  }

  /**
   * Creates a board for a slot of `tokens` tokens, in /dev/shm (memory), or in the temporary
   * directory where there is none.
   */
  static create(tokens: number): RunBoard {
    const name = `forklift-board-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const dirs = existsSync('/dev/shm') ? ['/dev/shm', tmpdir()] : [tmpdir()];
    for (const [i, dir] of dirs.entries()) {
      const path = join(dir, name);
      try {
        const fd = openSync(path, 'wx+', 0o600);
        unlinkSync(path);
        return new RunBoard(fd, 32 + tokens * TASK_BYTES);
      } catch (error) {
        if (i === dirs.length - 1) throw error;
      }
    }
    throw new Error('no directory for a run board');
  }

  /** The run the child is in, or undefined between runs (or before its first). */
  run(): BoardRun | undefined {
    const lines = this.block(0, RUN_BYTES, 1);
    const fields = lines?.[0]?.split('\t');
    if (fields?.length !== 7) return undefined;
    const task = parseTask(fields.slice(1));
    return task && { ...task, startedAt: Number(fields[0]) };
  }

  /** Every task the child holds (the run under way, the rest of its line, runs not yet ended). */
  held(): BoardTask[] {
    const lines = this.block(RUN_BYTES, this.heldBytes, Number.POSITIVE_INFINITY) ?? [];
    return lines.flatMap((line) => parseTask(line.split('\t')) ?? []);
  }

  /**
   * The lines of a region between its framing counters, read again while a write was caught
   * half-way; undefined when the region was never written.
   */
  private block(offset: number, bytes: number, singleLine: number): string[] | undefined {
    for (let tries = 0; tries < 10; tries++) {
      const length = readSync(this.fd, this.buffer, 0, bytes, offset);
      if (length === 0) return undefined;
      const text = this.buffer.toString('utf8', 0, length);
      // A region not written yet reads as zeros.
      if (text.charCodeAt(0) === 0) return undefined;
      if (singleLine === 1) {
        const end = text.indexOf('\n');
        const fields = text.slice(0, end).split('\t');
        if (end > 0 && fields[0] === fields[fields.length - 1])
          return [fields.slice(1, -1).join('\t')];
        continue;
      }
      const lines = text.split('\n');
      const n = lines[0];
      const close = lines.indexOf(n ?? '', 1);
      if (n && close > 0) return lines.slice(1, close);
    }
    return undefined;
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // closed already
    }
  }
}

/** The child's end of its board (fd 4). */
export class RunBoardWriter {
  private n = 0;
  /** The held region, when it changed and was not written yet. */
  private pendingHeld: string | undefined;
  /** One buffer for every write: the run region, then the held region. */
  private buffer = Buffer.alloc(RUN_BYTES + 4 * TASK_BYTES);

  constructor(private readonly fd = BOARD_FD) {}

  /**
   * `task` starts now. Written with the held region when that changed too, in one write: a
   * strict-semaphore child writes its board twice per task.
   */
  running(task: LeasedTask, at: number): void {
    this.n++;
    this.writeRun(`${this.n}\t${at}\t${taskLine(task)}\t${this.n}\n`);
  }

  /** The run ended; no other has started. */
  between(): void {
    this.n++;
    this.writeRun(`${this.n}\t-\t${this.n}\n`);
  }

  /** The slot now holds `tasks`: written with the next run's start, or by `flush`. */
  holding(tasks: readonly LeasedTask[]): void {
    this.n++;
    let text = `${this.n}\n`;
    for (const t of tasks) text += `${taskLine(t)}\n`;
    this.pendingHeld = `${text}${this.n}\n`;
  }

  /** Writes the held region now if it changed (before the child waits for anything). */
  flush(): void {
    if (this.pendingHeld === undefined) return;
    const length = this.put(this.pendingHeld, RUN_BYTES);
    this.pendingHeld = undefined;
    writeSync(this.fd, this.buffer, RUN_BYTES, length, RUN_BYTES);
  }

  /**
   * Writes the run line, and the held region too when it changed, in one write (the bytes between
   * them are whatever an earlier write left: a reader stops at the run line's end).
   */
  private writeRun(line: string): void {
    const runLength = this.put(line, 0);
    if (this.pendingHeld === undefined) {
      writeSync(this.fd, this.buffer, 0, runLength, 0);
      return;
    }
    const heldLength = this.put(this.pendingHeld, RUN_BYTES);
    this.pendingHeld = undefined;
    writeSync(this.fd, this.buffer, 0, RUN_BYTES + heldLength, 0);
  }

  /** Copies `text` into the buffer at `offset` (growing it for a long line); returns its bytes. */
  private put(text: string, offset: number): number {
    const needed = offset + Buffer.byteLength(text);
    if (needed > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(needed, this.buffer.length * 2));
      this.buffer.copy(grown);
      this.buffer = grown;
    }
    return this.buffer.write(text, offset);
  }
}
