/**
 * `forklift` command-line entry point: `npm run forklift -- <command> [args]`.
 *
 * Each command lives in a module of its own and is loaded only when called, so `enqueue` does
 * not pay for the gateway's HTTP stack and vice versa. A command module exports
 * `run(args, env)`, resolving to the process exit code.
 *
 * Secrets: before any command runs, the credentials in REDIS_URL and the configured tokens are
 * read once (`cliSecrets`) and every string the process writes to stdout or stderr is masked
 * (`guardOutput`); the error handlers below mask what they print as well, so an error message
 * or stack that quotes the Redis password (ours or the driver's) shows `***` instead.
 */
import { redactText } from '../redis/redact.js';
import { CliError } from './cli-error.js';
import { cliSecrets, guardOutput } from './secrets.js';

type CommandModule = { run(args: string[], env: NodeJS.ProcessEnv): Promise<number> };

const commands: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  worker: {
    summary: 'run a worker host (the forked pool)',
    load: () => import('./worker-command.js'),
  },
  enqueue: {
    summary: 'enqueue one task, or a JSON-lines file of tasks',
    load: () => import('./enqueue-command.js'),
  },
  status: { summary: 'show one task', load: () => import('./status-command.js') },
  stats: { summary: 'show the queue counters', load: () => import('./stats-command.js') },
  dead: { summary: 'list dead tasks, or retry them', load: () => import('./dead-command.js') },
  gateway: {
    summary: 'run the Upstash-compatible REST gateway',
    load: () => import('./gateway-command.js'),
  },
  dashboard: {
    summary: 'serve the dashboard (overview, hosts, search, dead letters) on Node',
    load: () => import('./dashboard-command.js'),
  },
  dev: {
    summary: 'run the whole local stack (gateway, worker host, edge, dashboard)',
    load: () => import('./dev-command.js'),
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: forklift <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'forklift <command> --help' for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`forklift: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  const mod = await command.load();
  return mod.run(rest, process.env);
}

const LONG_RUNNING = new Set(['worker', 'gateway', 'dashboard', 'dev']);

const secrets = cliSecrets(process.env);
guardOutput(secrets);

/** What the CLI prints for an error it did not expect: its stack, masked. */
function describeError(error: unknown): string {
  return redactText(
    error instanceof Error ? (error.stack ?? error.message) : String(error),
    secrets,
  );
}

// Node prints an uncaught error itself, past the guarded streams: print it masked instead.
process.on('uncaughtException', (error) => {
  process.stderr.write(`forklift: ${describeError(error)}\n`);
  process.exit(1);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A long-running command has closed everything it opened; do not let a stray handle keep
    // the process alive after its shutdown.
    if (LONG_RUNNING.has(process.argv[2] ?? '')) setTimeout(() => process.exit(code), 200).unref();
  },
  (error: unknown) => {
    if (error instanceof CliError) {
      process.stderr.write(`forklift: ${redactText(error.message, secrets)}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(`forklift: ${describeError(error)}\n`);
      process.exitCode = 1;
    }
  },
);
