/**
 * The entry point of a pool child (started with child_process.fork by the parent).
 *
 * It imports the handlers module named by FORKLIFT_HANDLERS, then runs the tasks it is sent one
 * at a time. Each payload is validated with its type's schema first (a bad one is an
 * unrecoverable failure), the handler runs with an AbortSignal, and its result is checked
 * against the result schema and must survive JSON. See protocol.ts for the messages.
 *
 * With FORKLIFT_CHILD_SETTLE set, successful runs are stored in Redis by the child itself
 * (child-settler.ts), which leases its next tasks in the same call; everything else (failures,
 * successes it could not store) is reported to the parent.
 */
import { pathToFileURL } from 'node:url';
import { type HandlerSet, UnrecoverableError } from '../handler-api.js';
import { ChildSettler, settleConfigFromEnv } from './child-settler.js';
import type {
  ChildMessage,
  LeasedTask,
  ParentMessage,
  RunError,
  RunOutcome,
  RunTask,
} from './protocol.js';

const send = (message: ChildMessage): void => {
  process.send?.(message);
};

/** With a long line of prefetched tasks, report (or settle) after this many runs. */
const FLUSH_EVERY = 4;

/** A successful run waiting to be stored by the child. */
interface Success {
  leased: LeasedTask;
  outcome: RunOutcome & { ok: true };
}

const queue: LeasedTask[] = [];
/**
 * The abort state of one run. Its AbortController is made only when the handler reads
 * `ctx.signal` (most never do, and one per run is measurable on a hot line).
 */
class RunAbort {
  private controller: AbortController | undefined;
  private reason: Error | undefined;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: Error): void {
    this.reason ??= reason;
    this.controller?.abort(reason);
  }
}

const aborts = new Map<string, RunAbort>();
let outbox: RunOutcome[] = [];
let flushScheduled = false;
let running = false;
let current: LeasedTask | undefined;
let handlerSet: HandlerSet | undefined;
let settler: ChildSettler | undefined;
let successes: Success[] = [];
/** False while the parent wants no more leases (recycling, shutdown). */
let claiming = true;
/** Runs finished by this child, and leases that settles in flight may still bring. */
let ran = 0;
let leasesInFlight = 0;

/** The run this child is in, or starts next. */
function head(): string | null {
  return current?.task.id ?? queue[0]?.task.id ?? null;
}

/**
 * Resident memory for the parent's recycling check. Reading it costs a system call or more, so
 * a child that settles directly and has no memory limit skips it (and reports 0).
 */
function residentBytes(): number {
  return settler && !settler.watchesMemory ? 0 : process.memoryUsage.rss();
}

function flush(): void {
  flushScheduled = false;
  if (outbox.length === 0) return;
  const results = outbox;
  outbox = [];
  send({ t: 'done', results, head: head(), rssBytes: residentBytes() });
}

/**
 * Stores the pending successes in Redis and leases the next task to each of their tokens
 * (unless recycling limits or the parent say no), then tells the parent. Successes that could
 * not be stored go to the parent, which retries.
 */
async function settle(direct: ChildSettler): Promise<void> {
  const batch = successes;
  successes = [];
  const leaseNext = claiming && direct.mayLease(ran + queue.length + leasesInFlight + batch.length);
  const leases = leaseNext ? batch.length : 0;
  leasesInFlight += leases;
  try {
    const reply = await direct.settle(
      batch.map(({ leased, outcome }) => ({
        token: leased.token,
        id: leased.task.id,
        lease: leased.lease,
        resultJson: JSON.stringify(outcome.result ?? null),
      })),
      leaseNext,
    );
    for (const task of reply.claimed) queue.push(task);
    send({
      t: 'settled',
      ids: batch.map((s) => s.leased.task.id),
      stored: reply.stored,
      // The parent never needs a payload: leave it out of the report.
      claimed: reply.claimed.map((c) => ({ ...c, task: { ...c.task, payload: undefined } })),
      corrupt: reply.corrupt,
      head: head(),
      rssBytes: residentBytes(),
    });
  } catch {
    for (const { outcome } of batch) outbox.push(outcome);
    flush();
  } finally {
    leasesInFlight -= leases;
  }
  void drain();
}

function report(outcome: RunOutcome): void {
  outbox.push(outcome);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function toRunError(error: unknown, unrecoverable = false): RunError {
  if (error instanceof Error) {
    return {
      name: error.name,
      message: error.message || error.name,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      unrecoverable:
        unrecoverable || error instanceof UnrecoverableError || error.name === 'UnrecoverableError',
    };
  }
  return { name: 'Error', message: `non-Error thrown: ${String(error)}`, unrecoverable };
}

async function runOne(set: HandlerSet, task: RunTask): Promise<RunOutcome> {
  const definition = Object.hasOwn(set.registry, task.type) ? set.registry[task.type] : undefined;
  const handler = Object.hasOwn(set.handlers, task.type) ? set.handlers[task.type] : undefined;
  if (!definition || !handler) {
    return {
      id: task.id,
      ok: false,
      error: toRunError(new Error(`no handler for task type '${task.type}'`), true),
    };
  }
  const payload = definition.payload.safeParse(task.payload);
  if (!payload.success) {
    const detail = payload.error.issues
      .map((i) => `${['payload', ...i.path].join('.')}: ${i.message}`)
      .join('; ');
    return {
      id: task.id,
      ok: false,
      error: toRunError(new Error(`invalid payload: ${detail}`), true),
    };
  }
  const abort = new RunAbort();
  aborts.set(task.id, abort);
  try {
    const value = await handler(payload.data, {
      id: task.id,
      type: task.type,
      attempt: task.attempt,
      maxAttempts: task.maxAttempts,
      priority: task.priority,
      get signal() {
        return abort.signal;
      },
    });
    const checked = definition.result.safeParse(value);
    if (!checked.success) {
      const detail = checked.error.issues
        .map((i) => `${['result', ...i.path].join('.')}: ${i.message}`)
        .join('; ');
      return {
        id: task.id,
        ok: false,
        error: toRunError(new Error(`handler returned an invalid result: ${detail}`), true),
      };
    }
    return { id: task.id, ok: true, result: value === undefined ? null : value };
  } catch (error) {
    return { id: task.id, ok: false, error: toRunError(error) };
  } finally {
    aborts.delete(task.id);
  }
}

async function drain(): Promise<void> {
  if (running || !handlerSet) return;
  running = true;
  try {
    for (let next = queue.shift(); next; next = queue.shift()) {
      current = next;
      const outcome = await runOne(handlerSet, next.task);
      current = undefined;
      ran++;
      if (outcome.ok && settler) successes.push({ leased: next, outcome });
      else report(outcome);
      // Answer now when nothing else is in line (no wait for the next turn of the event loop),
      // and every few runs of a long line, so the line is refilled while the rest runs.
      const lineEmpty = queue.length === 0;
      if (settler && successes.length > 0 && (lineEmpty || successes.length >= FLUSH_EVERY))
        void settle(settler);
      if (outbox.length > 0 && (lineEmpty || outbox.length >= FLUSH_EVERY)) flush();
    }
  } finally {
    running = false;
  }
}

function onMessage(message: ParentMessage): void {
  switch (message.t) {
    case 'run':
      for (const task of message.tasks) queue.push(task);
      void drain();
      break;
    case 'claiming':
      claiming = message.on;
      break;
    case 'abort':
      aborts.get(message.id)?.abort(new Error(message.reason));
      break;
    case 'stop':
      flush();
      settler?.close();
      process.disconnect?.();
      process.exit(0);
      break;
    default: {
      const exhaustive: never = message;
      throw new Error(`unknown message ${JSON.stringify(exhaustive)}`);
    }
  }
}

async function start(): Promise<void> {
  // The parent decides when a child stops: a Ctrl-C reaches the whole process group, and the
  // parent's graceful shutdown must be able to let running tasks finish.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  const modulePath = process.env.FORKLIFT_HANDLERS;
  if (!modulePath) throw new Error('FORKLIFT_HANDLERS is not set');
  const mod = (await import(pathToFileURL(modulePath).href)) as { default?: HandlerSet };
  if (!mod.default?.registry || !mod.default.handlers) {
    throw new Error(`${modulePath} must default-export defineHandlers(registry, handlers)`);
  }
  handlerSet = mod.default;
  const settleConfig = settleConfigFromEnv();
  if (settleConfig) settler = await ChildSettler.open(settleConfig);
  process.on('message', onMessage);
  // The parent's death closes the IPC channel: exit rather than linger as an orphan.
  process.on('disconnect', () => process.exit(0));
  send({ t: 'ready', pid: process.pid });
}

start().catch((error: unknown) => {
  send({
    t: 'init-error',
    message: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
  setTimeout(() => process.exit(1), 50);
});
