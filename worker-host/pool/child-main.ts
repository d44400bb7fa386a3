/**
 * The entry point of a pool child (started with child_process.fork by the parent).
 *
 * It imports the handlers module named by FORKLIFT_HANDLERS, then runs the tasks it is sent one
 * at a time (child-run.ts). See protocol.ts for the messages and child-reports.ts for when they
 * go out.
 *
 * With FORKLIFT_CHILD_SETTLE set, successful runs are stored in Redis by the child itself
 * (child-settler.ts), which leases its next tasks in the same call; the child then notes each
 * run it starts on its scoreboard (FORKLIFT_CHILD_SCOREBOARD, scoreboard.ts) and reports its
 * settled runs lazily. Everything else (failures, successes it could not store) is reported to
 * the parent, which settles it.
 */
import { pathToFileURL } from 'node:url';
import type { HandlerSet } from '../handler-api.js';
import { ChildReports } from './child-reports.js';
import { abortRun, runTask } from './child-run.js';
import { ChildSettler, settleConfigFromEnv } from './child-settler.js';
import type { ChildMessage, LeasedTask, ParentMessage, RunOutcome } from './protocol.js';
import { ScoreboardWriter } from './scoreboard.js';

const send = (message: ChildMessage): void => {
  process.send?.(message);
};

/** With a long line of prefetched tasks, report outcomes to the parent after this many runs. */
const FLUSH_EVERY = 4;

/** A successful run waiting to be stored by the child. */
interface Success {
  leased: LeasedTask;
  outcome: RunOutcome & { ok: true };
}

const queue: LeasedTask[] = [];
let running = false;
let current: LeasedTask | undefined;
let handlerSet: HandlerSet | undefined;
let settler: ChildSettler | undefined;
let scoreboard: ScoreboardWriter | undefined;
let successes: Success[] = [];
/** False while the parent wants no more leases (recycling, shutdown). */
let claiming = true;
/** False once the line is given back (shutdown, or past the memory limit): nothing more starts. */
let keepLine = true;
/** Runs finished by this child, and leases that settles in flight may still bring. */
let ran = 0;
let leasesInFlight = 0;
let settlesInFlight = 0;
/** True once the scoreboard says idle (so it is written once per idle spell). */
let scoreboardIdle = false;

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

const reports = new ChildReports(send, head, residentBytes, () => scoreboard?.seq ?? 0);

/** True when the child has nothing to run and nothing on its way. */
function idle(): boolean {
  return current === undefined && queue.length === 0 && settlesInFlight === 0;
}

/** Notes the start of a run on the scoreboard. */
function noteStart(task: LeasedTask): void {
  scoreboardIdle = false;
  scoreboard?.write(task);
}

/** Marks the scoreboard idle once the child has nothing left. */
function noteIdleIfSo(): void {
  if (scoreboard && !scoreboardIdle && idle()) {
    scoreboardIdle = true;
    scoreboard.write(null);
  }
}

/**
 * Stores the pending successes in Redis and leases the next task to each of their tokens
 * (unless recycling limits or the parent say no), then reports to the parent. Successes that
 * could not be stored go to the parent, which retries.
 */
async function settle(direct: ChildSettler): Promise<void> {
  const batch = successes;
  successes = [];
  const leaseNext = claiming && direct.mayLease(ran + queue.length + leasesInFlight + batch.length);
  const leases = leaseNext ? batch.length : 0;
  leasesInFlight += leases;
  settlesInFlight++;
  try {
    const reply = await direct.settle(
      batch.map(({ leased, outcome }) => ({
        token: leased.token,
        id: leased.task.id,
        lease: leased.lease,
        resultJson: outcome.resultJson ?? 'null',
      })),
      leaseNext,
    );
    for (const task of reply.claimed) queue.push(task);
    settlesInFlight--;
    if (!keepLine) giveBackLine();
    reports.settled(
      batch.map((s) => s.leased.task.id),
      batch.map((s) => s.outcome.ms),
      reply.stored,
      reply.claimed,
      reply.corrupt,
      idle(),
    );
  } catch {
    settlesInFlight--;
    for (const { outcome } of batch) reports.outcome(outcome);
    reports.flushOutcomes();
  } finally {
    leasesInFlight -= leases;
  }
  noteIdleIfSo();
  void drain();
}

/**
 * Stores the pending successes on the next turn of the event loop at the latest: a line of
 * synchronous runs gathers a batch, but a success does not wait behind a run that awaits I/O
 * (nor is it lost if that run's child then dies).
 */
let settleScheduled = false;
function scheduleSettle(direct: ChildSettler): void {
  if (settleScheduled) return;
  settleScheduled = true;
  setImmediate(() => {
    settleScheduled = false;
    if (successes.length > 0) void settle(direct);
  });
}

/** Hands every task in line back to the parent, unstarted. */
function giveBackLine(): void {
  reports.givenBack(queue.splice(0).map((t) => t.task.id));
}

/** Leases nothing more, starts nothing more, and hands back the line (and what reaches it). */
function stopLine(): void {
  claiming = false;
  keepLine = false;
  giveBackLine();
}

async function drain(): Promise<void> {
  if (running || !handlerSet || !keepLine) return;
  running = true;
  try {
    while (keepLine) {
      const next = queue.shift();
      if (!next) break;
      current = next;
      noteStart(next);
      const outcome = await runTask(handlerSet, next.task);
      current = undefined;
      ran++;
      // Past its memory limit the child is about to be recycled: it starts nothing more.
      if (settler?.watchesMemory && settler.overMemory()) stopLine();
      if (outcome.ok && settler) {
        successes.push({ leased: next, outcome });
        scheduleSettle(settler);
      } else reports.outcome(outcome);
      // Answer now when nothing else is in line (no wait for the next turn of the event loop),
      // and every few runs of a long line, so the line is refilled while the rest runs.
      const lineEmpty = queue.length === 0;
      if (settler && successes.length > 0 && (lineEmpty || successes.length >= settler.batchSize))
        void settle(settler);
      if (reports.waitingOutcomes > 0 && (lineEmpty || reports.waitingOutcomes >= FLUSH_EVERY))
        reports.flushOutcomes();
    }
  } finally {
    running = false;
  }
  noteIdleIfSo();
}

function onMessage(message: ParentMessage): void {
  switch (message.t) {
    case 'run':
      for (const task of message.tasks) queue.push(task);
      if (keepLine) void drain();
      else giveBackLine();
      break;
    case 'claiming':
      claiming = message.on;
      break;
    case 'give-back':
      stopLine();
      noteIdleIfSo();
      break;
    case 'abort':
      abortRun(message.id, message.reason);
      break;
    case 'stop':
      reports.flushAll();
      settler?.close();
      scoreboard?.close();
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
  const scoreboardPath = process.env.FORKLIFT_CHILD_SCOREBOARD;
  if (scoreboardPath) scoreboard = new ScoreboardWriter(scoreboardPath);
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
