/**
 * The host's side of the pool: N long-lived children made with child_process.fork, one slot
 * each, and who owns each slot (protocol.ts).
 *
 * Slot states, host side:
 *
 *   starting ──ready──► idle ──claim sent──► claiming ──tasks leased──► busy ──idle report──► idle
 *      ▲                  │                     └──── nothing leased ────► idle                │
 *      │                  └──(closing, or recycling: max tasks, max memory)──► stopped ──exit──┤
 *      └──── respawn ◄──── down ◄──── the child died (exit, crash, timeout kill) ◄────────────┘
 *
 * The host leases only for idle slots (`offer` marks them claiming, `handOut` makes them busy),
 * never for a busy one: a busy child leases for itself. While a slot is busy the pool mirrors
 * its line from the child's reports and times the run at the head from the start the child
 * reported; past its timeout the child is SIGKILLed. When a child dies with work, the slot is
 * down until the host has ended what it held (`lost`: fail the run it was in, give back the
 * rest, free its tokens); only then does a new child start in it, so two children never hold
 * the same tokens. A child that never got ready is respawned with a growing delay. The pool
 * itself never talks to Redis.
 */
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { forkChild } from './fork-child.js';
import type {
  ChildConfig,
  ChildMessage,
  EndedRun,
  LeasedTask,
  ParentMessage,
  RunError,
} from './protocol.js';

/** What the pool tells its owner. */
export interface PoolEvents {
  /** A new child is ready: its slot takes work. */
  ready(slot: number): void;
  /** A busy slot became idle: its tokens are the host's again. */
  idle(slot: number): void;
  /** Runs a child ended (with the task each was, for logs and metrics). */
  ended(slot: number, runs: readonly { run: EndedRun; task: LeasedTask | undefined }[]): void;
  /**
   * A child died holding work (see SlotLoss). The slot stays down until the returned promise
   * settles, so no new child holds its tokens while the host ends what the old one held.
   */
  lost(loss: SlotLoss): Promise<void>;
}

/** What a slot held when its child died (or was killed at shutdown). */
export interface SlotLoss {
  slot: number;
  /** The run the child was in, if it had started one, and when it started. */
  running: LeasedTask | undefined;
  startedAt: number | undefined;
  /** Why the child died: the error to end the running task with. */
  error: RunError;
  /** Tasks it had not started. */
  waiting: LeasedTask[];
  /** The slot's tokens, all to be freed. */
  tokens: readonly string[];
}

/** Pool options. */
export interface PoolOptions {
  /** Number of children. */
  size: number;
  /** Absolute path of the handlers module the children import. */
  handlersModule: string;
  /** Recycle a child after this many runs. @default Infinity */
  maxTasksPerChild?: number | undefined;
  /** Recycle a child whose resident memory passes this many MiB. @default Infinity */
  maxChildMemoryMb?: number | undefined;
  /** What every child needs to own its slot (its tokens are added per slot). */
  child: Omit<ChildConfig, 'tokens' | 'maxTasks' | 'maxRssBytes' | 'hostPid'>;
  /** Tokens per slot: 1 + prefetch. */
  tokensPerSlot: number;
  logger: Logger;
  events: PoolEvents;
}

type SlotState = 'starting' | 'idle' | 'claiming' | 'busy' | 'stopped' | 'down';

interface Slot {
  readonly index: number;
  readonly tokens: string[];
  state: SlotState;
  child: ChildProcess | undefined;
  /** The child's line as its reports tell it, head first. */
  line: LeasedTask[];
  /** When the head run started (undefined: the head has not started). */
  startedAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
  tasksRun: number;
  rssBytes: number;
  startFailures: number;
  /** Why the child is dying, when the pool killed it or it reported a fatal error. */
  killReason: RunError | undefined;
}

/** A slot the host may claim for. */
export interface Offer {
  slot: number;
  tokens: readonly string[];
}

/** The process pool. */
export class ProcessPool {
  private readonly slots: Slot[];
  private closing = false;
  private readonly maxTasks: number;
  private readonly maxRssBytes: number;
  private firstReady: { resolve(): void; reject(error: Error): void } | undefined;

  constructor(private readonly options: PoolOptions) {
    this.maxTasks = options.maxTasksPerChild ?? Number.POSITIVE_INFINITY;
    this.maxRssBytes = (options.maxChildMemoryMb ?? Number.POSITIVE_INFINITY) * 1024 * 1024;
    this.slots = Array.from({ length: options.size }, (_, index) => ({
      index,
      tokens: Array.from({ length: options.tokensPerSlot }, (_, k) => `${index}.${k}`),
      state: 'stopped',
      child: undefined,
      line: [],
      startedAt: undefined,
      timer: undefined,
      tasksRun: 0,
      rssBytes: 0,
      startFailures: 0,
      killReason: undefined,
    }));
  }

  /**
   * Starts every child; resolves once one is ready, rejects with its message when a child fails
   * to start before any was ready (a handlers module that does not load, say).
   */
  start(): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => {
      this.firstReady = { resolve, reject };
    });
    for (const slot of this.slots) this.spawn(slot);
    return ready;
  }

  /** Every slot token of the pool. */
  get allTokens(): string[] {
    return this.slots.flatMap((slot) => slot.tokens);
  }

  /** Tasks the children hold (running or waiting in line). */
  get inFlight(): number {
    let n = 0;
    for (const slot of this.slots) n += slot.line.length;
    return n;
  }

  /** Pids of the live children (for tests and status). */
  pids(): number[] {
    return this.slots.flatMap((slot) =>
      slot.child?.pid === undefined || slot.state === 'down' ? [] : [slot.child.pid],
    );
  }

  /** (task id, lease) of every task the children hold: the leases to renew. */
  leases(): [id: string, lease: string][] {
    return this.slots.flatMap((slot) =>
      slot.line.map((t) => [t.task.id, t.lease] as [string, string]),
    );
  }

  /** True while `task` is in a child's line (for telling a lost lease from a finished run). */
  holds(id: string): boolean {
    return this.slots.some((slot) => slot.line.some((t) => t.task.id === id));
  }

  /** The idle slots, now marked as claiming: the host leases for their tokens. */
  offer(): Offer[] {
    if (this.closing) return [];
    const offers: Offer[] = [];
    for (const slot of this.slots) {
      if (slot.state !== 'idle') continue;
      // Never more tasks than the child may still run before it is recycled.
      const room = Math.min(slot.tokens.length, this.maxTasks - slot.tasksRun);
      if (room <= 0) continue;
      slot.state = 'claiming';
      offers.push({ slot: slot.index, tokens: slot.tokens.slice(0, room) });
    }
    return offers;
  }

  /**
   * The claim for an offered slot came back: its tasks go to the child, which owns the slot
   * from now on. Returns false (the tasks must be given back) when the slot no longer takes
   * them: its child died meanwhile, or the pool is closing.
   */
  handOut(slotIndex: number, tasks: readonly LeasedTask[]): boolean {
    const slot = this.slots[slotIndex];
    if (slot?.state !== 'claiming') return tasks.length === 0;
    if (this.closing) {
      slot.state = 'idle';
      this.stopChild(slot);
      return tasks.length === 0;
    }
    if (tasks.length === 0) {
      slot.state = 'idle';
      return true;
    }
    slot.state = 'busy';
    slot.line.push(...tasks);
    this.startHead(slot, Date.now());
    this.send(slot, { t: 'run', tasks: [...tasks] });
    return true;
  }

  /** Fires the AbortSignal of every running task. */
  abortRunning(reason: string): void {
    for (const slot of this.slots) {
      const head = slot.line[0];
      if (head && slot.startedAt !== undefined)
        this.send(slot, { t: 'abort', id: head.task.id, reason });
    }
  }

  /**
   * Stops taking work: idle children are stopped; busy ones finish the run they are in, give
   * back the rest of their line themselves, and are stopped once idle.
   */
  beginClose(): void {
    this.closing = true;
    for (const slot of this.slots) {
      if (slot.state === 'busy') this.send(slot, { t: 'drain' });
      else if (slot.state !== 'claiming') this.stopChild(slot);
    }
  }

  /**
   * Kills every child at once and returns, per slot that held work, what it held: the run under
   * way (if one had started) and the rest, for the host to give back. No event follows.
   */
  killAll(error: RunError): SlotLoss[] {
    this.closing = true;
    const held: SlotLoss[] = [];
    for (const slot of this.slots) {
      slot.child?.removeAllListeners('close');
      slot.child?.kill('SIGKILL');
      slot.child = undefined;
      const loss = this.split(slot, error);
      if (loss.running || loss.waiting.length > 0) held.push(loss);
      slot.state = 'stopped';
    }
    return held;
  }

  private spawn(slot: Slot): void {
    if (this.closing) return;
    slot.state = 'starting';
    slot.tasksRun = 0;
    slot.rssBytes = 0;
    slot.killReason = undefined;
    slot.line = [];
    slot.startedAt = undefined;
    const { maxTasksPerChild, maxChildMemoryMb } = this.options;
    const child = forkChild(this.options.handlersModule, {
      ...this.options.child,
      hostPid: process.pid,
      tokens: slot.tokens,
      maxTasks: maxTasksPerChild ?? null,
      maxRssBytes: maxChildMemoryMb === undefined ? null : maxChildMemoryMb * 1024 * 1024,
    });
    slot.child = child;
    child.on('message', (message: ChildMessage) => this.onMessage(slot, child, message));
    // 'close' comes after 'exit' and after the IPC channel is drained: every report is in.
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) =>
      this.onClose(slot, child, code, signal),
    );
    child.on('error', (error) =>
      this.options.logger.error({ slot: slot.index, err: error }, 'child process error'),
    );
  }

  private onMessage(slot: Slot, child: ChildProcess, message: ChildMessage): void {
    if (slot.child !== child) return;
    switch (message.t) {
      case 'ready':
        slot.state = 'idle';
        slot.startFailures = 0;
        this.firstReady?.resolve();
        this.firstReady = undefined;
        this.options.logger.debug({ slot: slot.index, pid: message.pid }, 'child ready');
        if (this.closing) this.stopChild(slot);
        else this.options.events.ready(slot.index);
        break;
      case 'init-error':
        this.options.logger.error(
          { slot: slot.index, error: message.message },
          'child failed to start',
        );
        this.firstReady?.reject(new Error(`a child process failed to start: ${message.message}`));
        this.firstReady = undefined;
        break;
      case 'report':
        this.onReport(slot, message);
        break;
      case 'fatal':
        slot.killReason = message.error;
        this.options.logger.error(
          {
            slot: slot.index,
            taskId: slot.line[0]?.task.id,
            error: message.error.message,
            stack: message.error.stack,
          },
          'uncaught error in a child process; it exits',
        );
        break;
      default: {
        const exhaustive: never = message;
        this.options.logger.warn({ message: exhaustive }, 'unknown child message');
      }
    }
  }

  private onReport(slot: Slot, report: Extract<ChildMessage, { t: 'report' }>): void {
    slot.line.push(...report.leased);
    const ended: { run: EndedRun; task: LeasedTask | undefined }[] = [];
    for (const run of report.ended) {
      const index = slot.line.findIndex((t) => t.task.id === run.id);
      const [task] = index < 0 ? [] : slot.line.splice(index, 1);
      if (index === 0) this.stopHead(slot);
      if (run.outcome !== 'released') slot.tasksRun++;
      ended.push({ run, task });
    }
    if (report.start) {
      const index = slot.line.findIndex((t) => t.task.id === report.start?.id);
      if (index > 0) slot.line.unshift(...slot.line.splice(index, 1));
      this.startHead(slot, report.start.at);
    }
    slot.rssBytes = report.rssBytes;
    if (ended.length > 0) this.options.events.ended(slot.index, ended);
    if (!report.idle || slot.state !== 'busy') return;
    if (slot.line.length > 0) {
      this.options.logger.warn(
        { slot: slot.index, taskIds: slot.line.map((t) => t.task.id) },
        'an idle child still held tasks by the reports',
      );
      slot.line = [];
    }
    this.stopHead(slot);
    slot.state = 'idle';
    if (this.closing || slot.tasksRun >= this.maxTasks || slot.rssBytes > this.maxRssBytes) {
      if (!this.closing) {
        this.options.logger.info(
          { slot: slot.index, tasksRun: slot.tasksRun, rssMb: Math.round(slot.rssBytes / 1048576) },
          'recycling child',
        );
      }
      this.stopChild(slot);
      return;
    }
    this.options.events.idle(slot.index);
  }

  /** The head of the line started at `at`: its timeout runs from then. */
  private startHead(slot: Slot, at: number): void {
    this.clearTimer(slot);
    const head = slot.line[0];
    if (!head) return;
    slot.startedAt = at;
    slot.timer = setTimeout(
      () => this.onOverdue(slot, head),
      Math.max(0, at + head.timeoutMs - Date.now()),
    );
  }

  private stopHead(slot: Slot): void {
    this.clearTimer(slot);
    slot.startedAt = undefined;
  }

  private clearTimer(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
  }

  private onOverdue(slot: Slot, task: LeasedTask): void {
    slot.timer = undefined;
    if (slot.line[0] !== task || !slot.child) return;
    this.options.logger.warn(
      { slot: slot.index, taskId: task.task.id, timeoutMs: task.timeoutMs },
      'task timed out; killing its child',
    );
    slot.killReason = {
      name: 'TimeoutError',
      message: `timed out after ${task.timeoutMs} ms (the child process was killed)`,
      unrecoverable: false,
    };
    slot.child.kill('SIGKILL');
  }

  /** Empties the slot's line: the run under way (if the head started) and those behind it. */
  private split(slot: Slot, error: RunError): SlotLoss {
    this.clearTimer(slot);
    const { line, startedAt } = slot;
    slot.line = [];
    slot.startedAt = undefined;
    const running = startedAt === undefined ? undefined : line[0];
    return {
      slot: slot.index,
      running,
      startedAt,
      error,
      waiting: running ? line.slice(1) : line,
      tokens: slot.tokens,
    };
  }

  private send(slot: Slot, message: ParentMessage): void {
    if (slot.child?.connected) slot.child.send(message);
  }

  private stopChild(slot: Slot): void {
    const child = slot.child;
    if (!child || slot.state === 'stopped') return;
    slot.state = 'stopped';
    if (child.connected) this.send(slot, { t: 'stop' });
    else child.kill('SIGKILL');
    // A child that ignores 'stop' is killed.
    setTimeout(
      () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'),
      2_000,
    ).unref();
  }

  private onClose(
    slot: Slot,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    if (slot.child !== child) return;
    slot.child = undefined;
    const before = slot.state;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const loss = this.split(
      slot,
      slot.killReason ?? {
        name: 'ChildExitError',
        message: `child process exited (${how}) while running the task`,
        unrecoverable: false,
      },
    );
    const { running } = loss;
    slot.state = 'down';
    const holding =
      running !== undefined ||
      loss.waiting.length > 0 ||
      before === 'busy' ||
      before === 'claiming';
    if (before !== 'stopped' || holding) {
      this.options.logger.warn(
        {
          slot: slot.index,
          pid: child.pid,
          code,
          signal,
          taskId: running?.task.id,
          reason: slot.killReason?.message,
        },
        before === 'starting'
          ? 'child exited before it was ready'
          : running
            ? 'child process died while running a task'
            : 'child process died while it ran no task',
      );
    }
    if (before === 'starting') {
      slot.startFailures++;
      this.firstReady?.reject(new Error(`a child process exited (${how}) before it was ready`));
      this.firstReady = undefined;
    }
    const recovered = holding ? this.options.events.lost(loss) : Promise.resolve();
    void recovered.finally(() => {
      if (this.closing) {
        slot.state = 'stopped';
        return;
      }
      const delay = slot.startFailures === 0 ? 0 : Math.min(100 * 2 ** slot.startFailures, 30_000);
      setTimeout(() => this.spawn(slot), delay).unref();
    });
  }
}
