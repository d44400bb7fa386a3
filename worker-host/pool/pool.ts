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
 * recovers. Those reports are lazy (a few ms behind); before it acts on a child (a deadline, a
 * death, a renewal, shutdown) the pool reads the child's scoreboard (scoreboard.ts) to learn
 * the run it is really in, and while children are busy it looks at those that went quiet
 * (scoreboard-watch.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { forkChild } from './fork-child.js';
import type {
  ChildMessage,
  ChildSettleConfig,
  LeasedTask,
  ParentMessage,
  RunError,
} from './protocol.js';
import { readScoreboard } from './scoreboard.js';
import { ScoreboardWatch } from './scoreboard-watch.js';
import { type FinishedRun, type SettledReport, SlotLine, type SlotTask } from './slot-line.js';

/** What the pool tells its owner. */
export interface PoolEvents {
  /** A slot has a ready child and takes work. */
  ready(slot: number): void;
  /** Runs finished (successfully or not), as the child reported them together. */
  outcomes(slot: number, finished: FinishedRun[]): void;
  /** The child stored successful runs itself and leased tasks to its tokens (SettledReport). */
  settled(slot: number, report: SettledReport): void;
  /** A child handed back tasks it had not started (shutdown): to be released. */
  givenBack(slot: number, tasks: SlotTask[]): void;
  /**
   * The scoreboard showed a slot running a task its child had not reported yet (it leased the
   * task itself): the task is now at the head of the slot's line, marked `unconfirmed`.
   */
  discovered(slot: number, task: SlotTask): void;
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
  /** What the child holds, head first (slot-line.ts). */
  line: SlotLine;
  unsent: LeasedTask[];
  tasksRun: number;
  rssBytes: number;
  startFailures: number;
  /** The current child's scoreboard file, when children settle directly. */
  scoreboard: string | undefined;
  /** Children started in this slot (names scoreboard files). */
  generation: number;
  /** Why the pool killed this child, if it did. */
  killReason: RunError | undefined;
}

/** The process pool. */
export class ProcessPool {
  private readonly slots: Slot[];
  private closing = false;
  private readonly maxTasks: number;
  private readonly maxRssBytes: number;
  private readonly scoreboards: ScoreboardWatch<Slot>;

  constructor(private readonly options: PoolOptions) {
    this.maxTasks = options.maxTasksPerChild ?? Number.POSITIVE_INFINITY;
    this.maxRssBytes = (options.maxChildMemoryMb ?? Number.POSITIVE_INFINITY) * 1024 * 1024;
    this.slots = Array.from({ length: options.size }, (_, index) => {
      const slot: Slot = {
        index,
        state: 'stopped',
        child: undefined,
        line: new SlotLine((task) => this.onOverdue(slot, task)),
        unsent: [],
        tasksRun: 0,
        rssBytes: 0,
        startFailures: 0,
        killReason: undefined,
        scoreboard: undefined,
        generation: 0,
      };
      return slot;
    });
    this.scoreboards = new ScoreboardWatch(this.slots, (slot) => this.refreshHead(slot));
  }

  /** Starts every child. */
  start(): void {
    if (this.options.settle) this.scoreboards.open();
    for (const slot of this.slots) this.spawn(slot);
  }

  /** True while the slot's child is ready and not being recycled. */
  accepting(slot: number): boolean {
    return this.slots[slot]?.state === 'ready' && !this.closing;
  }

  /** Number of tasks assigned to all slots and not finished. */
  get inFlight(): number {
    let n = 0;
    for (const slot of this.slots) n += slot.line.length;
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
    const wasIdle = slot.line.add(task);
    if (wasIdle) this.scoreboards.busy();
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
      this.refreshHead(slot);
      const head = slot.line.head;
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
      slot.child?.removeAllListeners('exit');
      slot.child?.kill('SIGKILL');
      // Read after the kill: the scoreboard cannot change any more.
      this.refreshHead(slot);
      held.push(...slot.line.clear());
      slot.unsent = [];
      slot.state = 'stopped';
    }
    this.scoreboards.close();
    return held;
  }

  /**
   * Brings every busy slot's head up to date from its scoreboard (before a lease renewal, so a
   * run the child has not reported yet is renewed too).
   */
  refreshHeads(): void {
    for (const slot of this.slots) if (slot.line.length > 0) this.refreshHead(slot);
  }

  /** Updates the slot's line from its child's scoreboard (slot-line.ts). */
  private refreshHead(slot: Slot): void {
    if (!slot.scoreboard) return;
    const discovered = slot.line.applyScoreboard(readScoreboard(slot.scoreboard));
    if (discovered) this.options.events.discovered(slot.index, discovered);
  }

  /**
   * Stops taking work: idle children are stopped; busy ones finish the run they are in and hand
   * back the rest of their line (reported as `givenBack`, to be released).
   */
  beginClose(): void {
    this.closing = true;
    for (const slot of this.slots) {
      if (slot.line.length === 0) this.stopChild(slot);
      else this.send(slot, { t: 'give-back' });
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
    slot.generation++;
    slot.line.reset();
    const childEnv: Record<string, string> = {};
    const settle = this.childSettleConfig();
    slot.scoreboard = this.scoreboards.fileFor(`slot-${slot.index}-${slot.generation}`);
    if (settle && slot.scoreboard) {
      childEnv.FORKLIFT_CHILD_SETTLE = JSON.stringify(settle);
      childEnv.FORKLIFT_CHILD_SCOREBOARD = slot.scoreboard;
    }
    const child = forkChild(this.options.handlersModule, childEnv);
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
        const finished = slot.line.applyDone(message, this.unknownRun(slot));
        slot.tasksRun += finished.length;
        // Decide on recycling before the outcomes go out, so no next task is leased to a child
        // that is about to be replaced.
        this.markForRecycle(slot);
        if (finished.length > 0) this.options.events.outcomes(slot.index, finished);
        this.stopIfDone(slot);
        break;
      }
      case 'settled': {
        slot.rssBytes = message.rssBytes;
        // The child holds the tasks it leased already: mirrored, not sent.
        const report = slot.line.applySettled(message, this.unknownRun(slot));
        slot.tasksRun += report.finished.length;
        this.markForRecycle(slot);
        this.options.events.settled(slot.index, report);
        this.stopIfDone(slot);
        break;
      }
      case 'given-back': {
        const tasks = slot.line.applyGivenBack(message);
        if (tasks.length > 0) this.options.events.givenBack(slot.index, tasks);
        this.stopIfDone(slot);
        break;
      }
      default: {
        const exhaustive: never = message;
        this.options.logger.warn({ message: exhaustive }, 'unknown child message');
      }
    }
  }

  /** Logs a report of a run the slot does not hold. */
  private unknownRun(slot: Slot): (id: string) => void {
    return (id) =>
      this.options.logger.warn(
        { slot: slot.index, taskId: id },
        'outcome for a task the slot does not hold',
      );
  }

  private stopIfDone(slot: Slot): void {
    if ((slot.state === 'draining' || this.closing) && slot.line.length === 0) {
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
      // Past its run count the child's line ends at the limit: let it run. Past its memory, it
      // should not run more: it hands its line back, to be released for a fresh child.
      if (slot.rssBytes > this.maxRssBytes) this.send(slot, { t: 'give-back' });
      else this.send(slot, { t: 'claiming', on: false });
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
    this.refreshHead(slot);
    if (slot.scoreboard) rmSync(slot.scoreboard, { force: true });
    slot.scoreboard = undefined;
    const wasStarting = slot.state === 'starting';
    const expected = slot.state === 'stopped' && slot.line.length === 0;
    const [running, ...waiting] = slot.line.clear();
    if (!expected) {
      const error: RunError = slot.killReason ?? {
        name: 'ChildExitError',
        message: `child process exited (${signal ? `signal ${signal}` : `code ${code}`}) while running the task`,
        unrecoverable: false,
      };
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
    // The child may have moved on to a run it has not reported yet: that run has its own clock.
    this.refreshHead(slot);
    if (slot.line.head !== task) return;
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
