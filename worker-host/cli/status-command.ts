/** `forklift status ID [--json] [--queue NAME]`: one task's view. Exit 1 when unknown. */
import { CorruptRecordError } from '../../shared/errors.js';
import type { TaskView } from '../../shared/task-record.js';
import { parseCommand } from './args.js';
import { CliError } from './cli-error.js';
import { queueFrom, readCliEnv } from './env.js';
import { withQueue } from './redis-client.js';

const HELP = `usage: forklift status ID [--json] [--queue NAME]

Shows a task: id, type, payload, priority, state, attempts, maxAttempts, result, error,
createdAt, startedAt, finishedAt (ISO-8601). --json prints the same fields as JSON.`;

function text(view: TaskView): string {
  const rows: [string, unknown][] = [
    ['id', view.id],
    ['type', view.type],
    ['payload', JSON.stringify(view.payload)],
    ['priority', view.priority],
    ['state', view.state],
    ['attempts', `${view.attempts}/${view.maxAttempts}`],
    ['result', view.result === null ? '-' : JSON.stringify(view.result)],
    ['error', view.error ?? '-'],
    ['createdAt', view.createdAt],
    ['startedAt', view.startedAt ?? '-'],
    ['finishedAt', view.finishedAt ?? '-'],
  ];
  if (view.runAt) rows.push(['runAt', view.runAt]);
  if (view.stalls > 0) rows.push(['stalls', view.stalls]);
  return rows.map(([k, v]) => `${k.padEnd(11)} ${v}`).join('\n');
}

/** Runs `forklift status`. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseCommand(HELP, 'status', args, {
    json: { type: 'boolean' },
    queue: { type: 'string' },
  });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const [id, ...extra] = positionals;
  if (id === undefined || extra.length > 0)
    throw new CliError(`status takes exactly one task ID\n\n${HELP}`);
  const cli = readCliEnv(env);
  const queue = queueFrom(cli, values.queue);
  let view: TaskView | null;
  try {
    view = await withQueue(cli.redisUrl, queue, cli, (client) => client.getTask(id));
  } catch (error) {
    // A corrupted record (sent to dead by the worker host) is a fact to report, not a crash.
    if (!(error instanceof CorruptRecordError)) throw error;
    if (values.json)
      process.stdout.write(
        `${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`,
      );
    process.stderr.write(`forklift: ${error.message}\n`);
    return 1;
  }
  if (!view) {
    if (values.json)
      process.stdout.write(
        `${JSON.stringify({ error: { code: 'not_found', message: `no task ${id}` } })}\n`,
      );
    process.stderr.write(`forklift: no task ${id} in queue ${queue}\n`);
    return 1;
  }
  process.stdout.write(`${values.json ? JSON.stringify(view, null, 2) : text(view)}\n`);
  return 0;
}
