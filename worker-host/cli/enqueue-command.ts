/**
 * `forklift enqueue TYPE [PAYLOAD_JSON] [--priority high|normal|low] [--delay SECONDS]
 *   [--key IDEMPOTENCY_KEY] [--max-attempts N] [--max-stalls N] [--timeout MS]`
 * `forklift enqueue --file FILE`  (JSON lines of {type, payload, priority?, delaySeconds?,
 *   idempotencyKey?, maxAttempts?, maxStalls?, timeoutMs?}; blank lines are skipped)
 *
 * Validates everything first (type, payload schema, flags, every line of the file) and writes
 * nothing unless all of it is valid; then enqueues in one script call per batch of 1,000 and
 * prints one task id per line.
 */
import { readFile } from 'node:fs/promises';
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
  const results = await withQueue(cli.redisUrl, queue, cli.namespace, async (client) => {
    const out = [];
    for (let i = 0; i < prepared.specs.length; i += LIMITS.batchSize) {
      out.push(...(await client.enqueue(prepared.specs.slice(i, i + LIMITS.batchSize))));
    }
    return out;
  });
  process.stdout.write(`${results.map((r) => r.id).join('\n')}\n`);
  return 0;
}
