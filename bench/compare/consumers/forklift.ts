/**
 * Forklift as a compared consumer: the real worker host with a pool of 2 forked children,
 * BENCH_MODE `strict` (prefetch 0) or `prefetch16`. Ready once both children have loaded their
 * handlers and the host waits for work.
 */
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startWorkerHost } from '../../../worker-host/host.js';
import { createLogger } from '../../../worker-host/logger.js';
import { consumerSettings, runConsumer } from './consumer-process.js';

/** The key namespace the compare driver reads Forklift's counters from. */
export const FORKLIFT_BENCH_NAMESPACE = 'bench';
const CONCURRENCY = 2;
const PREFETCH: Record<string, number> = { strict: 0, prefetch16: 16 };

const handlersModule = fileURLToPath(new URL('./forklift-handlers.ts', import.meta.url));

runConsumer(async () => {
  const settings = consumerSettings();
  const prefetch = PREFETCH[settings.mode];
  if (prefetch === undefined) throw new Error(`unknown BENCH_MODE ${settings.mode}`);
  const host = await startWorkerHost({
    redisUrl: settings.redisUrl,
    queue: settings.queue,
    namespace: FORKLIFT_BENCH_NAMESPACE,
    concurrency: CONCURRENCY,
    prefetch,
    handlersModule,
    logger: createLogger('warn'),
  });
  const loaded = () =>
    readdirSync(settings.probeDir).filter((name) => name.startsWith('loaded-')).length;
  while (loaded() < CONCURRENCY) await sleep(10);
  return () => host.close();
});
