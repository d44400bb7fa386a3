/** A child of the bare pool: runs each task it is sent, then puts its token back. */
import { Redis } from 'ioredis';
import { taskStarted } from '../probe.js';
import { bareKeys } from './bare-keys.js';
import { consumerSettings } from './consumer-process.js';

const token = process.argv[2] ?? '0';
const settings = consumerSettings();
const keys = bareKeys(settings.queue);
const redis = new Redis(settings.redisUrl);

process.on('message', async (task: string) => {
  taskStarted();
  const { x } = JSON.parse(task) as { x: number };
  void (x * x);
  await redis.lpush(keys.tokens, token);
});
process.on('disconnect', () => process.exit(0));
process.send?.('ready');
