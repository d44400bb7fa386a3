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
 * never for a busy one: a busy child leases for itself. What a busy child holds, and which run it
 * is in, the pool reads on the child's run board (run-board.ts): every WATCH_MS for runs past
 * their timeout (their child is SIGKILLed), at each lease renewal, and when the child dies. When
 * a child dies with work, the slot is
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
import { boardTaskToLeased, RunBoard } from './run-board.js';

/** What the pool tells its owner. */
export interface PoolEvents {
  /** A new child is ready: its slot takes work. */
  ready(slot: number): void;
  /** A busy slot became idle: its tokens are the host's again. */
  idle(slot: number): void;
  /** Runs a child ended (for logs and metrics). */
  ended(slot: number, runs: readonly EndedRun[]): void;
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

/** How often the pool reads the run boards of busy children for runs past their timeout. */
const WATCH_MS = 50;

interface Slot {
  readonly index: number;
  readonly tokens: string[];
  state: SlotState;
  child: ChildProcess | undefined;
  /** The current child's run board. */
  board: RunBoard | undefined;
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
  private watch: NodeJS.Timeout | undefined;

  constructor(private readonly options: PoolOptions) {
    this.maxTasks = options.maxTasksPerChild ?? Number.POSITIVE_INFINITY;
    this.maxRssBytes = (options.maxChildMemoryMb ?? Number.POSITIVE_INFINITY) * 1024 * 1024;
    this.slots = Array.from({ length: options.size }, (_, index) => ({
      index,
      tokens: Array.from({ length: options.tokensPerSlot }, (_, k) => `${index}.${k}`),
      state: 'stopped',
      child: undefined,
      board: undefined,
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

  /** Slots whose child holds work (busy, or draining at shutdown). */
  get busySlots(): number {
    return this.slots.filter((slot) => slot.state === 'busy').length;
  }

  /** Slots whose child is up and ready for work (idle, claiming or busy): for readiness. */
  get readyChildren(): number {
    return this.slots.filter(
      (slot) => slot.state === 'idle' || slot.state === 'claiming' || slot.state === 'busy',
    ).length;
  }

  /** Pids of the live children (for tests and status). */
  pids(): number[] {
    return this.slots.flatMap((slot) =>
      slot.child?.pid === undefined || slot.state === 'down' ? [] : [slot.child.pid],
    );
  }

  /** (task id, lease) of every task the busy children hold (read on their boards): to renew. */
  leases(): [id: string, lease: string][] {
    return this.slots.flatMap((slot) =>
      slot.state === 'busy'
        ? (slot.board?.held() ?? []).map((t) => [t.id, t.lease] as [string, string])
        : [],
    );
  }

  /** True while a busy child holds task `id` (a lease lost after its run ended is no news). */
  holds(id: string): boolean {
    return this.slots.some(
      (slot) => slot.state === 'busy' && (slot.board?.held() ?? []).some((t) => t.id === id),
    );
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
    this.send(slot, { t: 'run', tasks: [...tasks] });
    this.watch ??= setInterval(() => this.watchBusy(), WATCH_MS);
    return true;
  }

  /** Kills the child of every busy slot whose run is past its timeout (read on its board). */
  private watchBusy(): void {
    const now = Date.now();
    for (const slot of this.slots) {
      if (slot.state !== 'busy') continue;
      const run = slot.board?.run();
      if (run && now > run.startedAt + run.timeoutMs && slot.child && !slot.killReason) {
        this.options.logger.warn(
          { slot: slot.index, taskId: run.id, timeoutMs: run.timeoutMs },
          'task timed out; killing its child',
        );
        slot.killReason = {
          name: 'TimeoutError',
          message: `timed out after ${run.timeoutMs} ms (the child process was killed)`,
          unrecoverable: false,
        };
        slot.child.kill('SIGKILL');
      }
    }
    if (this.busySlots === 0) {
      clearInterval(this.watch);
      this.watch = undefined;
    }
  }

  /** Fires the AbortSignal of every running task. */
  abortRunning(reason: string): void {
    for (const slot of this.slots) {
      const run = slot.board?.run();
      if (run) this.send(slot, { t: 'abort', id: run.id, reason });
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
    clearInterval(this.watch);
    this.watch = undefined;
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
    slot.board = RunBoard.create(slot.tokens.length);
    const { maxTasksPerChild, maxChildMemoryMb } = this.options;
    const child = forkChild(
      this.options.handlersModule,
      {
        ...this.options.child,
        hostPid: process.pid,
        tokens: slot.tokens,
        maxTasks: maxTasksPerChild ?? null,
        maxRssBytes: maxChildMemoryMb === undefined ? null : maxChildMemoryMb * 1024 * 1024,
      },
      slot.board.fd,
    );
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
            taskId: slot.board?.run()?.id,
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
    for (const run of report.ended) if (run.outcome !== 'released') slot.tasksRun++;
    slot.rssBytes = report.rssBytes;
    if (report.ended.length > 0) this.options.events.ended(slot.index, report.ended);
    if (!report.idle || slot.state !== 'busy') return;
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

  /**
   * What the slot's child held when it went, as its board tells it: the run under way and the
   * rest. Closes the board: the child is gone.
   */
  private split(slot: Slot, error: RunError): SlotLoss {
    const run = slot.board?.run();
    const held = slot.board?.held() ?? [];
    slot.board?.close();
    slot.board = undefined;
    return {
      slot: slot.index,
      running: run && boardTaskToLeased(run),
      startedAt: run?.startedAt,
      error,
      waiting: held.filter((t) => t.id !== run?.id).map(boardTaskToLeased),
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
