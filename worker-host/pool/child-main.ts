/**
 * The entry point of a pool child (started with child_process.fork by the parent).
 *
 * It imports the handlers module named by FORKLIFT_HANDLERS, then runs the tasks it is sent one
 * at a time. Each payload is validated with its type's schema first (a bad one is an
 * unrecoverable failure), the handler runs with an AbortSignal, and its result is checked
 * against the result schema and must survive JSON. See protocol.ts for the messages.
 */
import { pathToFileURL } from 'node:url';
import { type HandlerSet, UnrecoverableError } from '../handler-api.js';
import type { ChildMessage, ParentMessage, RunError, RunOutcome, RunTask } from './protocol.js';

const send = (message: ChildMessage): void => {
  process.send?.(message);
};

/** With a long line of prefetched tasks, report after this many runs. */
const FLUSH_EVERY = 4;

const queue: RunTask[] = [];
const controllers = new Map<string, AbortController>();
let outbox: RunOutcome[] = [];
let flushScheduled = false;
let running = false;
let handlerSet: HandlerSet | undefined;

function flush(): void {
  flushScheduled = false;
  if (outbox.length === 0) return;
  const results = outbox;
  outbox = [];
  send({ t: 'done', results, rssBytes: process.memoryUsage.rss() });
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
  const controller = new AbortController();
  controllers.set(task.id, controller);
  try {
    const value = await handler(payload.data, {
      id: task.id,
      type: task.type,
      attempt: task.attempt,
      maxAttempts: task.maxAttempts,
      priority: task.priority,
      signal: controller.signal,
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
    controllers.delete(task.id);
  }
}

async function drain(): Promise<void> {
  if (running || !handlerSet) return;
  running = true;
  try {
    for (let task = queue.shift(); task; task = queue.shift()) {
      report(await runOne(handlerSet, task));
      // Answer now when nothing else is in line (no wait for the next turn of the event loop),
      // and every few runs of a long line, so the host refills it while the rest runs.
      if (queue.length === 0 || outbox.length >= FLUSH_EVERY) flush();
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
    case 'abort':
      controllers.get(message.id)?.abort(new Error(message.reason));
      break;
    case 'stop':
      flush();
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
