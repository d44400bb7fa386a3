/**
 * The original design, bare, as a compared consumer: a parent BLPOPs a token from the
 * `worker_queue` list (one token per free child), then the three lanes in priority order, and
 * hands the task to that child over IPC; the child runs it and LPUSHes its token back. No
 * reliability: a task popped by a process that dies is lost, nothing is stored.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { bareKeys } from './bare-keys.js';
import { consumerSettings, runConsumer } from './consumer-process.js';

const CHILDREN = 2;
const childMain = fileURLToPath(new URL('./bare-child.ts', import.meta.url));

runConsumer(async () => {
  const settings = consumerSettings();
  const keys = bareKeys(settings.queue);
  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
  const children: ChildProcess[] = [];
  for (let token = 0; token < CHILDREN; token++) {
    const child = fork(childMain, [String(token)], { execArgv: process.execArgv });
    await once(child, 'message');
    children.push(child);
  }
  await redis.del(keys.tokens);
  await redis.rpush(keys.tokens, ...children.map((_, token) => String(token)));
  let running = true;
  const loop = (async () => {
    while (running) {
      const token = await redis.blpop(keys.tokens, 0);
      const task = await redis.blpop(keys.high, keys.normal, keys.low, 0);
      if (token && task) children[Number(token[1])]?.send(task[1]);
    }
  })();
  loop.catch(() => {});
  return async () => {
    running = false;
    redis.disconnect();
    for (const child of children) child.kill('SIGKILL');
  };
});
