/** `forklift stats [--json] [--queue NAME]`: lane lengths, set sizes and running totals. */
import { parseCommand } from './args.js';
import { queueFrom, readCliEnv } from './env.js';
import { withQueue } from './redis-client.js';

const HELP = `usage: forklift stats [--json] [--queue NAME]

--json prints {"queue", "lanes": {"high", "normal", "low"}, "delayed", "active", "succeeded",
"failed", "dead", "canceled"}; succeeded, failed (attempts that will be retried), dead and
canceled are running totals kept in Redis.`;

/** Runs `forklift stats`. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseCommand(
    HELP,
    'stats',
    args,
    { json: { type: 'boolean' }, queue: { type: 'string' } },
    false,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  const cli = readCliEnv(env);
  const queue = queueFrom(cli, values.queue);
  const stats = await withQueue(cli.redisUrl, queue, cli, (client) => client.stats());
  if (values.json) {
    process.stdout.write(`${JSON.stringify(stats)}\n`);
  } else {
    const { lanes } = stats;
    process.stdout.write(
      `${[
        `queue      ${stats.queue}`,
        `lanes      high ${lanes.high}   normal ${lanes.normal}   low ${lanes.low}`,
        `delayed    ${stats.delayed}`,
        `active     ${stats.active}`,
        `succeeded  ${stats.succeeded}`,
        `failed     ${stats.failed}`,
        `dead       ${stats.dead}`,
        `canceled   ${stats.canceled}`,
      ].join('\n')}\n`,
    );
  }
  return 0;
}
