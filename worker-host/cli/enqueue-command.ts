/**
 * `forklift enqueue TYPE [PAYLOAD_JSON] [--priority high|normal|low] [--delay SECONDS]
 *   [--key IDEMPOTENCY_KEY] [--max-attempts N] [--max-stalls N] [--timeout MS]`
 * `forklift enqueue --file FILE`  (JSON lines of {type, payload, priority?, delaySeconds?,
 *   idempotencyKey?, maxAttempts?, maxStalls?, timeoutMs?}; blank lines are skipped)
 *
 * Validates everything first (type, payload schema, flags, every line of the file) and writes
 * nothing unless all of it is valid; then enqueues in one script call per batch of 1,000 and
 * prints one task id per line, each call's ids as soon as that call is written.
 *
 * A file of more than 1,000 tasks is not atomic as a whole: when a later call fails, the calls
 * before it stay written (their ids are already printed), and the error says at which line the
 * failure starts and which lines were enqueued. A failure is reported as a message (a
 * `CliError`, exit 1), never as a stack trace.
 */
import { readFile } from 'node:fs/promises';
import { ReplyError } from 'ioredis';
import { LIMITS } from '../../shared/defaults.js';
import {
  type EnqueueRequest,
  prepareBatch,
  type ValidationIssue,
} from '../../shared/enqueue-request.js';
import { isPriority, PRIORITIES } from '../../shared/priority.js';
import { tasks } from '../../shared/tasks/index.js';
import { intFlag, parseCommand, secondsFlag } from './args.js';
import { CliError } from './cli-error.js';
import { queueFrom, readCliEnv } from './env.js';
import { withQueue } from './redis-client.js';

const HELP = `usage: forklift enqueue TYPE [PAYLOAD_JSON] [options]
       forklift enqueue --file FILE [--queue NAME]

options:
  --priority high|normal|low   lane (default normal)
  --delay SECONDS              run no earlier than this many seconds from now
  --key IDEMPOTENCY_KEY        a repeat with the same key (within 24 h) returns the first id
  --max-attempts N             runs allowed before the task is dead (default 3)
  --max-stalls N               times it may lose its worker host (a crash, a kill) and go back
                               to its lane before it is dead; no attempt is spent (default 3)
  --timeout MS                 a run longer than this is killed (default 300000)
  --file FILE                  JSON lines of {type, payload, priority?, delaySeconds?,
                               idempotencyKey?, maxAttempts?, maxStalls?, timeoutMs?}
  --queue NAME                 queue (default $FORKLIFT_QUEUE or 'default')

Prints one task id per line. Known types: ${Object.keys(tasks).join(', ')}.`;

/** What a failed write says, without the stack: the error's own message, or its text. */
function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Where the tasks of `--file` came from: the file, and the line of each task. */
interface Source {
  file: string;
  lineOf: readonly number[];
}

/**
 * The error for a call that failed after `done` tasks were written by the calls before it;
 * `failing` is the size of the call that failed.
 */
function failure(
  error: unknown,
  source: Source | undefined,
  done: number,
  failing: number,
): CliError {
  if (!source) return new CliError(`enqueue: ${reason(error)}`, 1);
  const line = (index: number) => source.lineOf[index] ?? index + 1;
  const from = line(done);
  const to = line(done + Math.max(failing, 1) - 1);
  const before =
    done === 0
      ? ''
      : `lines ${line(0)}-${line(done - 1)} were enqueued (${done} tasks; their ids are printed above); `;
  // Redis answered with an error: the enqueue script writes all of a call or nothing, and an
  // OOM refusal comes before its first write. Anything else (the connection failed) leaves the
  // outcome of that call unknown.
  const after =
    error instanceof ReplyError
      ? done === 0
        ? 'nothing was enqueued'
        : `nothing from line ${from} on was enqueued`
      : `whether lines ${from}-${to} were enqueued is unknown (no answer came back); nothing after line ${to} was`;
  return new CliError(
    `enqueue --file ${source.file}: the call with lines ${from}-${to} failed: ${reason(error)}\n  ${before}${after}`,
    1,
  );
}

function describe(issues: readonly ValidationIssue[]): string {
  return issues.map((issue) => `  ${issue.path}: ${issue.message}`).join('\n');
}

async function readRequests(file: string): Promise<{ requests: unknown[]; lineOf: number[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`--file ${file}: ${(error as Error).message}`);
  }
  const requests: unknown[] = [];
  const lineOf: number[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    try {
      requests.push(JSON.parse(line));
      lineOf.push(index + 1);
    } catch (error) {
      throw new CliError(
        `--file ${file}, line ${index + 1}: not valid JSON (${(error as Error).message})`,
      );
    }
  }
  if (requests.length === 0) throw new CliError(`--file ${file}: no tasks in the file`);
  return { requests, lineOf };
}

/** Runs `forklift enqueue`. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseCommand(HELP, 'enqueue', args, {
    priority: { type: 'string' },
    delay: { type: 'string' },
    key: { type: 'string' },
    'max-attempts': { type: 'string' },
    'max-stalls': { type: 'string' },
    timeout: { type: 'string' },
    file: { type: 'string' },
    queue: { type: 'string' },
  });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const cli = readCliEnv(env);
  const queue = queueFrom(cli, values.queue);

  let requests: unknown[];
  let lineOf: number[] = [];
  if (values.file !== undefined) {
    const stray = ['priority', 'delay', 'key', 'max-attempts', 'max-stalls', 'timeout'].filter(
      (f) => values[f as keyof typeof values] !== undefined,
    );
    if (positionals.length > 0 || stray.length > 0) {
      throw new CliError(
        'enqueue --file takes no TYPE, PAYLOAD_JSON or per-task flags: put them on each line',
      );
    }
    ({ requests, lineOf } = await readRequests(values.file));
  } else {
    const [type, payloadText, ...extra] = positionals;
    if (type === undefined) throw new CliError(`enqueue: TYPE is required\n\n${HELP}`);
    if (extra.length > 0)
      throw new CliError(
        `enqueue: unexpected argument ${JSON.stringify(extra[0])} (quote the payload JSON)`,
      );
    let payload: unknown = {};
    if (payloadText !== undefined) {
      try {
        payload = JSON.parse(payloadText);
      } catch (error) {
        throw new CliError(`enqueue: PAYLOAD_JSON is not valid JSON (${(error as Error).message})`);
      }
    }
    if (values.priority !== undefined && !isPriority(values.priority)) {
      throw new CliError(
        `--priority must be one of ${PRIORITIES.join(', ')}, got ${JSON.stringify(values.priority)}`,
      );
    }
    const delayMs = secondsFlag('--delay', values.delay, 0, LIMITS.delayMs / 1000);
    const request: EnqueueRequest = {
      type,
      payload,
      ...(values.priority === undefined
        ? {}
        : { priority: values.priority as EnqueueRequest['priority'] }),
      ...(delayMs === undefined ? {} : { delaySeconds: delayMs / 1000 }),
      ...(values.key === undefined ? {} : { idempotencyKey: values.key }),
    };
    const maxAttempts = intFlag('--max-attempts', values['max-attempts'], 1, LIMITS.maxAttempts);
    const maxStalls = intFlag('--max-stalls', values['max-stalls'], 0, LIMITS.maxStalls);
    const timeoutMs = intFlag('--timeout', values.timeout, 1, LIMITS.timeoutMs);
    if (maxAttempts !== undefined) request.maxAttempts = maxAttempts;
    if (maxStalls !== undefined) request.maxStalls = maxStalls;
    if (timeoutMs !== undefined) request.timeoutMs = timeoutMs;
    requests = [request];
  }

  const prepared = prepareBatch(tasks, requests);
  if (!prepared.ok) {
    const single = values.file === undefined;
    const issues = prepared.issues.map((issue) => {
      const [index = '0', ...rest] = issue.path.split('.');
      const field = rest.join('.');
      return { ...issue, path: single ? field : `line ${lineOf[Number(index)]}: ${field}` };
    });
    throw new CliError(
      `enqueue: invalid ${single ? 'task' : 'file'}, nothing was enqueued:\n${describe(issues)}`,
    );
  }
  // One call per 1,000 tasks, each call's ids printed as soon as it is written, so that a
  // failure of a later call leaves the ids of what was written on stdout.
  const { specs } = prepared;
  let done = 0;
  let failing = 0;
  try {
    await withQueue(cli.redisUrl, queue, cli, async (client) => {
      for (let i = 0; i < specs.length; i += LIMITS.batchSize) {
        const chunk = specs.slice(i, i + LIMITS.batchSize);
        failing = chunk.length;
        const results = await client.enqueue(chunk);
        process.stdout.write(`${results.map((r) => r.id).join('\n')}\n`);
        done += chunk.length;
      }
    });
  } catch (error) {
    const source = values.file === undefined ? undefined : { file: values.file, lineOf };
    throw failure(error, source, done, failing);
  }
  return 0;
}
