/**
 * `forklift worker [--queue NAME] [--concurrency N] [--prefetch N] [--weights H,N,L] [--lease S]
 *   [--grace S] [--max-tasks-per-child N] [--max-child-memory-mb M] [--handlers PATH]
 *   [--metrics-port N] [--metrics-host ADDR] [--exit-after-outage S]`
 *
 * Runs a worker host until SIGTERM or SIGINT: the first signal shuts down gracefully (exit 0),
 * a second one forces (exit 1). With `--exit-after-outage S`, a host that has not reached Redis
 * for S seconds kills its children and exits with code 75 (EX_TEMPFAIL), for its supervisor to
 * restart it.
 */
import { resolve } from 'node:path';
import { StartupError, startWorkerHost } from '../host.js';
import { createLogger } from '../logger.js';
import { resolveWorkerOptions, type WorkerOptions } from '../worker-options.js';
import { intFlag, parseCommand } from './args.js';
import { CliError } from './cli-error.js';
import { queueFrom, readCliEnv } from './env.js';
import { cliSecrets } from './secrets.js';

/** Exit code of a host that gave up after `--exit-after-outage` (sysexits EX_TEMPFAIL). */
export const OUTAGE_EXIT_CODE = 75;

const HELP = `usage: forklift worker [options]

  --queue NAME               queue to serve (default $FORKLIFT_QUEUE or 'default')
  --concurrency N            child processes (default: available CPUs)
  --prefetch N               extra leased tasks each child may hold in line (default 0).
                             Raises throughput for many short tasks (a child stores half a
                             line of results per Redis call). Trade-offs: a task is leased, counts as
                             active and has an attempt charged while it waits in a child's
                             line (its timeout starts only when the child starts it), a busy
                             host holds work an idle host could run, and a high task enqueued
                             now waits behind the lines already taken. Tasks still waiting
                             when a child dies, or as soon as the host begins to stop, go back
                             with the attempt refunded.
  --weights H,N,L            weighted fetching, e.g. 6,3,1: of every 10 claims, 6 try high
                             first, 3 normal, 1 low, so low cannot starve (default: strict)
  --lease S                  seconds a claimed task stays leased without renewal before another
                             host may reclaim it (default 30; renewed every S/3 while it runs)
  --grace S                  on SIGTERM/SIGINT, seconds running tasks may take to finish;
                             unfinished ones go back to their lane, attempt refunded (default 30)
  --max-tasks-per-child N    recycle a child after N tasks (default: never)
  --max-child-memory-mb M    recycle a child whose resident memory exceeds M MiB (default: never)
  --handlers PATH            module that default-exports defineHandlers(...) (default: built-in)
  --metrics-port N           serve Prometheus metrics at GET /metrics, and health at GET /healthz
                             (liveness) and GET /readyz (readiness), on port N (default: off)
  --metrics-host ADDR        address the metrics server binds (default 127.0.0.1)
  --exit-after-outage S      when Redis has been unreachable for S seconds (1-86400), kill the
                             children and exit with code 75, for a supervisor to restart the
                             host; their tasks run again elsewhere as stalls (default: off,
                             wait for Redis however long it takes)

Environment: REDIS_URL, FORKLIFT_QUEUE, FORKLIFT_NAMESPACE, FORKLIFT_LOG_LEVEL.`;

function weightsFlag(value: string | undefined): [number, number, number] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length !== 3 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new CliError(
      `--weights must be three whole numbers H,N,L such as 6,3,1, got ${JSON.stringify(value)}`,
    );
  }
  const weights = parts.map(Number) as [number, number, number];
  if (weights[0] + weights[1] + weights[2] === 0) throw new CliError('--weights must not all be 0');
  return weights;
}

/** Runs `forklift worker`. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseCommand(
    HELP,
    'worker',
    args,
    {
      queue: { type: 'string' },
      concurrency: { type: 'string' },
      prefetch: { type: 'string' },
      weights: { type: 'string' },
      lease: { type: 'string' },
      grace: { type: 'string' },
      'max-tasks-per-child': { type: 'string' },
      'max-child-memory-mb': { type: 'string' },
      handlers: { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-host': { type: 'string' },
      'exit-after-outage': { type: 'string' },
    },
    false,
  );
  if (!parsed) return 0;
  const { values } = parsed;
  const cli = readCliEnv(env);
  const lease = intFlag('--lease', values.lease, 1, 86_400);
  const grace = intFlag('--grace', values.grace, 0, 86_400);
  const exitAfterOutage = intFlag('--exit-after-outage', values['exit-after-outage'], 1, 86_400);
  const options: WorkerOptions = {
    redisUrl: cli.redisUrl,
    queue: queueFrom(cli, values.queue),
    namespace: cli.namespace,
    shards: cli.shards,
    prefetch: intFlag('--prefetch', values.prefetch, 0, 1000) ?? 0,
    weights: weightsFlag(values.weights),
    maxTasksPerChild: intFlag(
      '--max-tasks-per-child',
      values['max-tasks-per-child'],
      1,
      Number.MAX_SAFE_INTEGER,
    ),
    maxChildMemoryMb: intFlag(
      '--max-child-memory-mb',
      values['max-child-memory-mb'],
      16,
      1_048_576,
    ),
    handlersModule: values.handlers === undefined ? undefined : resolve(values.handlers),
    // Masks the Redis password wherever a log line would carry it (a driver error, say).
    logger: createLogger(cli.logLevel, { secrets: cliSecrets(env) }),
    metricsPort: intFlag('--metrics-port', values['metrics-port'], 0, 65_535),
  };
  if (values['metrics-host'] !== undefined) options.metricsHost = values['metrics-host'];
  const concurrency = intFlag('--concurrency', values.concurrency, 1, 1024);
  if (concurrency !== undefined) options.concurrency = concurrency;
  if (lease !== undefined) options.leaseMs = lease * 1000;
  if (grace !== undefined) options.graceMs = grace * 1000;
  if (exitAfterOutage !== undefined) options.exitAfterOutageMs = exitAfterOutage * 1000;
  try {
    resolveWorkerOptions(options);
  } catch (error) {
    throw new CliError((error as Error).message);
  }

  let host: Awaited<ReturnType<typeof startWorkerHost>>;
  try {
    host = await startWorkerHost(options);
  } catch (error) {
    if (error instanceof StartupError) throw new CliError(`could not start: ${error.message}`, 1);
    throw error;
  }
  return new Promise<number>((done) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      options.logger?.info(
        { signal },
        signals === 1
          ? 'signal received: shutting down gracefully'
          : 'second signal: forcing shutdown',
      );
      host.close({ force: signals > 1 }).then(
        () => done(signals > 1 ? 1 : 0),
        (error: unknown) => {
          options.logger?.error({ err: error }, 'shutdown failed');
          done(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // The host already logged why it gave up, and killed its children. (Once a signal has begun
    // a shutdown, the host no longer gives up.)
    void host.stoppedByOutage.then(({ outageMs }) => {
      options.logger?.fatal(
        { outageMs, exitCode: OUTAGE_EXIT_CODE },
        `exiting with code ${OUTAGE_EXIT_CODE}: Redis was unreachable for longer than --exit-after-outage ${exitAfterOutage}`,
      );
      done(OUTAGE_EXIT_CODE);
    });
  });
}
