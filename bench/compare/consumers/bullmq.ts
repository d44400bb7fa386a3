/**
 * BullMQ as a compared consumer, with its defaults (completed jobs kept, as Forklift keeps
 * results): BENCH_MODE `sandboxed` (processor in forked child processes, concurrency 2) or
 * `inprocess` (processor in the worker's own process, concurrency 50).
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { taskStarted } from '../probe.js';
import { consumerSettings, runConsumer } from './consumer-process.js';

const processorFile = fileURLToPath(new URL('./bullmq-processor.ts', import.meta.url));

runConsumer(async () => {
  const settings = consumerSettings();
  const connection = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
  let worker: Worker;
  if (settings.mode === 'sandboxed') {
    worker = new Worker(settings.queue, processorFile, { connection, concurrency: 2 });
  } else if (settings.mode === 'inprocess') {
    worker = new Worker(
      settings.queue,
      async (job) => {
        taskStarted();
        return job.data.x * job.data.x;
      },
      { connection, concurrency: 50 },
    );
  } else {
    throw new Error(`unknown BENCH_MODE ${settings.mode}`);
  }
  worker.on('error', (error) => console.error('bullmq worker error', error.message));
  await worker.waitUntilReady();
  return async () => {
    await worker.close();
    connection.disconnect();
  };
});
