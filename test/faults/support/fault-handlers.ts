/**
 * The handlers of the fault tests: one task type, `work`, that squares `x` after `ms` of work
 * (awaited, or with `spin` a synchronous busy loop) and keeps a log that lets a test check the
 * invariants afterwards, without trusting the system under test:
 *
 * - `<dir>/runs.jsonl`: a `start` line when a run begins and an `end` line when it ends;
 * - `<dir>/overlaps.jsonl`: a line whenever a run begins while another run of the same task is
 *   still alive. A run holds `<dir>/locks/<id>` (its pid) while it runs; a new run that finds
 *   the lock of a live process records an overlap (a killed run leaves a stale lock behind, whose
 *   process is gone).
 *
 * Retries back off for 50-100 ms, so a test sees every attempt quickly.
 */
import { appendFileSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { defineTask } from '../../../shared/task-definition.js';
import { defineHandlers } from '../../../worker-host/handler-api.js';

/** Absolute path of this module, for `handlersModule` / `--handlers`. */
export const FAULT_HANDLERS = fileURLToPath(import.meta.url);

/** One line of `runs.jsonl`. */
export interface RunLine {
  id: string;
  event: 'start' | 'end';
  pid: number;
  attempt: number;
  /** Epoch ms. */
  at: number;
}

/** One line of `overlaps.jsonl`: run `pid` began while `other` still ran the same task. */
export interface OverlapLine {
  id: string;
  pid: number;
  other: number;
  at: number;
}

/** The fault tests' registry. */
export const faultTasks = {
  work: defineTask({
    description: 'Squares x after ms of work (spin: a synchronous busy loop), logging to dir.',
    payload: z.object({
      x: z.int(),
      ms: z.int().min(0),
      spin: z.boolean().optional(),
      dir: z.string().min(1),
    }),
    result: z.int(),
    policy: { backoffMs: 50, backoffMaxMs: 100 },
  }),
} as const;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function takeLock(dir: string, id: string): string {
  const locks = join(dir, 'locks');
  mkdirSync(locks, { recursive: true });
  const lock = join(locks, id);
  try {
    const other = Number(readFileSync(lock, 'utf8'));
    if (other !== process.pid && alive(other)) {
      appendFileSync(
        join(dir, 'overlaps.jsonl'),
        `${JSON.stringify({ id, pid: process.pid, other, at: Date.now() } satisfies OverlapLine)}\n`,
      );
    }
  } catch {
    // no lock: nobody runs this task
  }
  writeFileSync(lock, String(process.pid));
  return lock;
}

function log(dir: string, line: RunLine): void {
  appendFileSync(join(dir, 'runs.jsonl'), `${JSON.stringify(line)}\n`);
}

export default defineHandlers(faultTasks, {
  work: async ({ x, ms, spin, dir }, ctx) => {
    const lock = takeLock(dir, ctx.id);
    log(dir, {
      id: ctx.id,
      event: 'start',
      pid: process.pid,
      attempt: ctx.attempt,
      at: Date.now(),
    });
    if (spin) {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        // a synchronous run: the event loop does nothing meanwhile
      }
    } else if (ms > 0) {
      await sleep(ms);
    }
    log(dir, { id: ctx.id, event: 'end', pid: process.pid, attempt: ctx.attempt, at: Date.now() });
    try {
      if (Number(readFileSync(lock, 'utf8')) === process.pid) unlinkSync(lock);
    } catch {
      // taken over meanwhile
    }
    return x * x;
  },
});
