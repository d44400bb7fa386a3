/**
 * `forklift dead [--retry ID | --retry-all] [--json] [--limit N] [--queue NAME]`
 * Without --retry*, lists dead tasks (newest first) with the error that killed them.
 */
import { intFlag, parseCommand } from './args.js';
import { CliError } from './cli-error.js';
import { queueFrom, readCliEnv } from './env.js';
import { withQueue } from './redis-client.js';

const HELP = `usage: forklift dead [--retry ID | --retry-all] [--json] [--limit N] [--queue NAME]

Lists dead tasks, newest first (--limit, default 50). --retry ID (repeatable) and --retry-all
put dead tasks back at the tail of their lane with a fresh set of attempts.`;

/** Runs `forklift dead`. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseCommand(
    HELP,
    'dead',
    args,
    {
      retry: { type: 'string', multiple: true },
      'retry-all': { type: 'boolean' },
      json: { type: 'boolean' },
      limit: { type: 'string' },
      queue: { type: 'string' },
    },
    false,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  if (values.retry && values['retry-all'])
    throw new CliError('dead: use either --retry ID or --retry-all, not both');
  const limit = intFlag('--limit', values.limit, 1, 10_000) ?? 50;
  const cli = readCliEnv(env);
  const queue = queueFrom(cli, values.queue);

  return withQueue(cli.redisUrl, queue, cli, async (client) => {
    if (values['retry-all']) {
      const retried = await client.retryAllDead();
      process.stdout.write(
        values.json ? `${JSON.stringify({ retried })}\n` : `retried ${retried} dead task(s)\n`,
      );
      return 0;
    }
    if (values.retry) {
      const { retried, notDead } = await client.retryDead(values.retry);
      if (values.json) process.stdout.write(`${JSON.stringify({ retried, notDead })}\n`);
      else process.stdout.write(`retried ${retried} dead task(s)\n`);
      for (const id of notDead) process.stderr.write(`forklift: ${id} is not a dead task\n`);
      return notDead.length > 0 ? 1 : 0;
    }
    const page = await client.listDead(0, limit);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(page)}\n`);
    } else if (page.total === 0) {
      process.stdout.write('no dead tasks\n');
    } else {
      for (const t of page.tasks) {
        process.stdout.write(
          `${t.id}  ${t.type}  attempts=${t.attempts}  ${t.finishedAt ?? '-'}  ${t.error}\n`,
        );
      }
      if (page.total > page.tasks.length)
        process.stdout.write(`(${page.tasks.length} of ${page.total} shown)\n`);
    }
    return 0;
  });
}
