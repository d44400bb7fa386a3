/**
 * A pool of long-lived child processes made with child_process.fork, one slot per child.
 *
 * Slot life cycle:
 *
 *   starting ──ready──► ready ──(max tasks or max memory reached)──► draining ──queue empty──► stop
 *      ▲                  │                                              │                      │
 *      └──── respawn ◄────┴──── exit, crash, timeout kill ◄──────────────┴──────────────────────┘
 *
 * A slot takes work only while `ready` (never while starting, so a child that fails to start
 * never gets work; it is respawned with a growing delay). The tasks assigned to a slot form a
 * FIFO queue; the child runs the head, the rest are prefetched. The head's timeout is armed when
 * it becomes the head; past it the child is killed (SIGKILL) and replaced. When a child dies,
 * the pool reports the run it was in (to be failed) and the tasks it had not started (to be
 * released). The pool itself never talks to Redis; with `settle` set, its children do (they
 * store their successes and lease their next tasks, see protocol.ts), and the pool mirrors what
 * they report, so its view of each slot's line stays the one the host renews, times and
 * recovers.
 */
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { forkChild } from './fork-child.js';
import type {
  ChildMessage,
  ChildSettleConfig,
  CorruptClaim,
  LeasedTask,
  ParentMessage,
  RunError,
  RunOutcome,
} from './protocol.js';
import { RunDeadline } from './run-deadline.js';

/** A task assigned to a slot, with what the host needs to finish it in Redis. */
export interface SlotTask extends LeasedTask {
  /** When it became the head of its slot's queue (the child started it). */
  startedAt?: number;
}

/** A finished run and how it ended. */
export interface FinishedRun {
  task: SlotTask;
  outcome: RunOutcome;
}

/** What the pool tells its owner. */
export interface PoolEvents {
  /** A slot has a ready child and takes work. */
  ready(slot: number): void;
  /** Runs finished (successfully or not), as the child reported them together. */
  outcomes(slot: number, finished: FinishedRun[]): void;
  /**
   * The child stored successful runs itself (`stored[i]` false: the lease of `finished[i]` had
   * been lost, nothing was stored) and leased `claimed` to its freed tokens (already in its
   * line); `corrupt` were leased but do not decode.
   */
  settled(
    slot: number,
    finished: FinishedRun[],
    stored: boolean[],
    claimed: SlotTask[],
    corrupt: CorruptClaim[],
  ): void;
  /**
   * A child died (crash, exit, timeout kill, recycle with work left): `running` is the run it
   * was in, if any, with the error to fail it with; `waiting` are the tasks it never started.
   */
  lost(slot: number, running: SlotTask | undefined, error: RunError, waiting: SlotTask[]): void;
}

/** Pool options. */
export interface PoolOptions {
  /** Number of children. */
  size: number;
  /** Absolute path of the handlers module the children import. */
  handlersModule: string;
  /** Recycle a child after this many runs. @default Infinity */
  maxTasksPerChild?: number;
  /** Recycle a child whose resident memory passes this many MiB. @default Infinity */
  maxChildMemoryMb?: number;
  /** When given, children settle their successful runs in Redis themselves (protocol.ts). */
  settle?: Omit<ChildSettleConfig, 'maxTasks' | 'maxRssBytes'>;
  logger: Logger;
  events: PoolEvents;
}

type SlotState = 'starting' | 'ready' | 'draining' | 'stopped';

interface Slot {
  index: number;
  state: SlotState;
  child: ChildProcess | undefined;
  queue: SlotTask[];
  unsent: LeasedTask[];
  tasksRun: number;
  rssBytes: number;
  startFailures: number;
  deadline: RunDeadline;
  /** Why the pool killed this child, if it did. */
  killReason: RunError | undefined;
}

/** The process pool. */
export class ProcessPool {
  private readonly slots: Slot[];
  private closing = false;
  private readonly maxTasks: number;
  private readonly maxRssBytes: number;

  constructor(private readonly options: PoolOptions) {
    this.maxTasks = options.maxTasksPerChild ?? Number.POSITIVE_INFINITY;
    this.maxRssBytes = (options.maxChildMemoryMb ?? Number.POSITIVE_INFINITY) * 1024 * 1024;
    this.slots = Array.from({ length: options.size }, (_, index) => {
      const slot: Slot = {
        index,
        state: 'stopped',
        child: undefined,
        queue: [],
        unsent: [],
        tasksRun: 0,
        rssBytes: 0,
        startFailures: 0,
        deadline: new RunDeadline(
          () => slot.queue[0],
          (task) => this.onOverdue(slot, task),
        ),
        killReason: undefined,
      };
      return slot;
    });
  }

  /** Starts every child. */
  start(): void {
    for (const slot of this.slots) this.spawn(slot);
  }

  /** True while the slot's child is ready and not being recycled. */
  accepting(slot: number): boolean {
    return this.slots[slot]?.state === 'ready' && !this.closing;
  }

  /** Number of tasks assigned to all slots and not finished. */
  get inFlight(): number {
    let n = 0;
    for (const slot of this.slots) n += slot.queue.length;
    return n;
  }

  /** Pids of the live children (for tests and status). */
  pids(): number[] {
    return this.slots.flatMap((slot) =>
      slot.child?.pid === undefined || slot.state === 'stopped' ? [] : [slot.child.pid],
    );
  }

  /** Hands tasks to a slot; they run after what it already has. */
  assign(slotIndex: number, task: SlotTask): void {
    const slot = this.slots[slotIndex];
    if (!slot?.child) throw new Error(`slot ${slotIndex} has no child`);
    const wasIdle = slot.queue.length === 0;
    slot.queue.push(task);
    if (wasIdle) slot.deadline.start();
    slot.unsent.push({
      token: task.token,
      lease: task.lease,
      timeoutMs: task.timeoutMs,
      task: task.task,
    });
    if (wasIdle && slot.unsent.length === 1) {
      this.flush(slot);
    } else if (slot.unsent.length === 1) {
      setImmediate(() => this.flush(slot));
    }
  }

  /** Fires the AbortSignal of every running task. */
  abortRunning(reason: string): void {
    for (const slot of this.slots) {
      const head = slot.queue[0];
      if (head && slot.child?.connected) this.send(slot, { t: 'abort', id: head.task.id, reason });
    }
  }

  /**
   * Stops taking work, kills every child at once and returns what they held (for the host to
   * release). Further events are not emitted.
   */
  killAll(): SlotTask[] {
    this.closing = true;
    const held: SlotTask[] = [];
    for (const slot of this.slots) {
      held.push(...slot.queue);
      slot.queue = [];
      slot.unsent = [];
      slot.deadline.clear();
      slot.state = 'stopped';
      slot.child?.removeAllListeners('exit');
      slot.child?.kill('SIGKILL');
    }
    return held;
  }

  /** Stops taking work; idle children are stopped, busy ones finish their queue first. */
  beginClose(): void {
    this.closing = true;
    for (const slot of this.slots) {
      if (slot.queue.length === 0) this.stopChild(slot);
      else this.send(slot, { t: 'claiming', on: false });
    }
  }

  private flush(slot: Slot): void {
    if (slot.unsent.length === 0) return;
    const tasks = slot.unsent;
    slot.unsent = [];
    this.send(slot, { t: 'run', tasks });
  }

  private send(slot: Slot, message: ParentMessage): void {
    if (!slot.child?.connected) return;
    slot.child.send(message);
  }

  private spawn(slot: Slot): void {
    if (this.closing) return;
    slot.state = 'starting';
    slot.tasksRun = 0;
    slot.rssBytes = 0;
    slot.killReason = undefined;
    const child = forkChild(this.options.handlersModule, this.childSettleConfig());
    slot.child = child;
    child.on('message', (message: ChildMessage) => this.onMessage(slot, child, message));
    child.once('exit', (code, signal) => this.onExit(slot, child, code, signal));
    child.on('error', (error) =>
      this.options.logger.error({ slot: slot.index, err: error }, 'child process error'),
    );
  }

  private childSettleConfig(): ChildSettleConfig | undefined {
    const { settle, maxTasksPerChild, maxChildMemoryMb } = this.options;
    if (!settle) return undefined;
    return {
      ...settle,
      maxTasks: maxTasksPerChild ?? null,
      maxRssBytes: maxChildMemoryMb === undefined ? null : maxChildMemoryMb * 1024 * 1024,
    };
  }

  private onMessage(slot: Slot, child: ChildProcess, message: ChildMessage): void {
    if (slot.child !== child) return;
    switch (message.t) {
      case 'ready':
        slot.state = 'ready';
        slot.startFailures = 0;
        this.options.logger.debug({ slot: slot.index, pid: message.pid }, 'child ready');
        if (!this.closing) this.options.events.ready(slot.index);
        else this.stopChild(slot);
        break;
      case 'init-error':
        this.options.logger.error(
          { slot: slot.index, error: message.message },
          'child failed to start',
        );
        break;
      case 'done': {
        slot.rssBytes = message.rssBytes;
        const headBefore = slot.queue[0];
        const finished = this.takeFinished(slot, message.results);
        this.syncHead(slot, headBefore, message.head);
        // Decide on recycling before the outcomes go out, so no next task is leased to a child
        // that is about to be replaced.
        this.markForRecycle(slot);
        if (finished.length > 0) this.options.events.outcomes(slot.index, finished);
        this.stopIfDone(slot);
        break;
      }
      case 'settled': {
        slot.rssBytes = message.rssBytes;
        const headBefore = slot.queue[0];
        const finished = this.takeFinished(
          slot,
          message.ids.map((id) => ({ id, ok: true, result: undefined })),
        );
        // The child holds these already: mirror them, do not send them.
        const claimed: SlotTask[] = message.claimed;
        for (const task of claimed) slot.queue.push(task);
        this.syncHead(slot, headBefore, message.head);
        this.markForRecycle(slot);
        this.options.events.settled(slot.index, finished, message.stored, claimed, message.corrupt);
        this.stopIfDone(slot);
        break;
      }
      default: {
        const exhaustive: never = message;
        this.options.logger.warn({ message: exhaustive }, 'unknown child message');
      }
    }
  }

  /** Removes the reported runs from the slot's queue. */
  private takeFinished(slot: Slot, results: RunOutcome[]): FinishedRun[] {
    const finished: FinishedRun[] = [];
    for (const outcome of results) {
      const index = slot.queue.findIndex((t) => t.task.id === outcome.id);
      if (index < 0) {
        this.options.logger.warn(
          { slot: slot.index, taskId: outcome.id },
          'outcome for a task the slot does not hold',
        );
        continue;
      }
      const [task] = slot.queue.splice(index, 1);
      if (task) finished.push({ task, outcome });
      slot.tasksRun++;
    }
    return finished;
  }

  /**
   * Puts the run the child said it is in at the head of the slot's line (the parent's `run`
   * messages and the child's own leases may have crossed) and starts the clock of a new head.
   */
  private syncHead(slot: Slot, headBefore: SlotTask | undefined, head: string | null): void {
    if (head !== null && slot.queue[0]?.task.id !== head) {
      const index = slot.queue.findIndex((t) => t.task.id === head);
      if (index > 0) slot.queue.unshift(...slot.queue.splice(index, 1));
    }
    if (slot.queue.length === 0) slot.deadline.clear();
    else if (slot.queue[0] !== headBefore) slot.deadline.start();
  }

  private stopIfDone(slot: Slot): void {
    if ((slot.state === 'draining' || this.closing) && slot.queue.length === 0) {
      this.stopChild(slot);
    }
  }

  private markForRecycle(slot: Slot): void {
    if (
      slot.state === 'ready' &&
      (slot.tasksRun >= this.maxTasks || slot.rssBytes > this.maxRssBytes)
    ) {
      this.options.logger.info(
        { slot: slot.index, tasksRun: slot.tasksRun, rssMb: Math.round(slot.rssBytes / 1048576) },
        'recycling child',
      );
      slot.state = 'draining';
      this.send(slot, { t: 'claiming', on: false });
    }
  }

  private stopChild(slot: Slot): void {
    if (!slot.child || slot.state === 'stopped') return;
    const child = slot.child;
    slot.state = 'stopped';
    if (child.connected) this.send(slot, { t: 'stop' });
    else child.kill('SIGKILL');
    // A child that ignores 'stop' is killed.
    setTimeout(
      () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'),
      2_000,
    ).unref();
  }

  private onExit(
    slot: Slot,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    if (slot.child !== child) return;
    slot.deadline.clear();
    const wasStarting = slot.state === 'starting';
    const expected = slot.state === 'stopped' && slot.queue.length === 0;
    if (!expected) {
      const [running, ...waiting] = slot.queue;
      const error: RunError = slot.killReason ?? {
        name: 'ChildExitError',
        message: `child process exited (${signal ? `signal ${signal}` : `code ${code}`}) while running the task`,
        unrecoverable: false,
      };
      slot.queue = [];
      slot.unsent = [];
      if (wasStarting) slot.startFailures++;
      this.options.logger.warn(
        {
          slot: slot.index,
          pid: child.pid,
          code,
          signal,
          taskId: running?.task.id,
          reason: error.message,
        },
        wasStarting ? 'child exited before it was ready' : 'child process died',
      );
      if (running || waiting.length > 0)
        this.options.events.lost(slot.index, running, error, waiting);
    }
    slot.child = undefined;
    slot.state = 'stopped';
    if (this.closing) return;
    const delay = slot.startFailures === 0 ? 0 : Math.min(100 * 2 ** slot.startFailures, 30_000);
    setTimeout(() => this.spawn(slot), delay).unref();
  }

  private onOverdue(slot: Slot, task: SlotTask): void {
    this.options.logger.warn(
      { slot: slot.index, taskId: task.task.id, timeoutMs: task.timeoutMs },
      'task timed out; killing its child',
    );
    slot.killReason = {
      name: 'TimeoutError',
      message: `timed out after ${task.timeoutMs} ms (the child process was killed)`,
      unrecoverable: false,
    };
    slot.child?.kill('SIGKILL');
  }
}
