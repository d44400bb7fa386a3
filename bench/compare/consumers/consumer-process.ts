/**
 * The life of a consumer process the compare driver forks: read the settings it passes in the
 * environment, start, say `ready` over IPC when the consumer can take work, and stop on
 * `stop` (or when the driver goes away).
 *
 * Environment: BENCH_REDIS_URL, BENCH_QUEUE, BENCH_MODE (the consumer's variant), and
 * BENCH_PROBE_DIR (see probe.ts).
 */

/** The settings a consumer is started with. */
export interface ConsumerSettings {
  redisUrl: string;
  queue: string;
  mode: string;
  probeDir: string;
}

/** Reads the settings; throws naming a missing variable. */
export function consumerSettings(env: NodeJS.ProcessEnv = process.env): ConsumerSettings {
  const read = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set (this script is started by bench/compare.ts)`);
    return value;
  };
  return {
    redisUrl: read('BENCH_REDIS_URL'),
    queue: read('BENCH_QUEUE'),
    mode: read('BENCH_MODE'),
    probeDir: read('BENCH_PROBE_DIR'),
  };
}

/**
 * Runs a consumer: `start` resolves once it takes work and returns its stop function. Tells the
 * driver `ready`, stops on `stop` or a lost driver, then exits.
 */
export function runConsumer(start: () => Promise<() => Promise<void>>): void {
  start().then(
    (stop) => {
      let stopping = false;
      const end = () => {
        if (stopping) return;
        stopping = true;
        stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('message', (message) => message === 'stop' && end());
      process.on('disconnect', end);
      process.send?.('ready');
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
