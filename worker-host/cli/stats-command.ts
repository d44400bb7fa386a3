/** `forklift stats [--json] [--queue NAME]`: lane lengths, set sizes and running totals. */
import { parse } from './args.js';
import { checkQueueFlag, readCliEnv } from './env.js';
import { withQueue } from './redis-client.js';

const HELP = `usage: forklift stats [--json] [--queue NAME]

--json prints {"queue", "lanes": {"high", "normal", "low"}, "delayed", "active", "succeeded",
"failed", "dead", "canceled"}; succeeded, failed (attempts that will be retried), dead and
canceled are running totals kept in Redis.`;

/** Runs `forklift stats`. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parse(
    'stats',
    args,
    { json: { type: 'boolean' }, queue: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    false,
  );
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const cli = readCliEnv(env);
  const queue = values.queue === undefined ? cli.queue : checkQueueFlag(values.queue);
  const stats = await withQueue(cli.redisUrl, queue, cli.namespace, (client) => client.stats());
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
