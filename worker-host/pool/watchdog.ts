/**
 * A child never outlives its host: a thread of the child's own polls its parent pid and kills
 * the whole child (SIGKILL) as soon as the host is gone (killed with -9, crashed), so no task
 * runs on without the host that leased it, even when the child's main thread is stuck in a
 * synchronous loop, and nothing leases for a dead host. A thread costs a few MiB per child; the
 * IPC channel's `disconnect` event alone would wait for the main thread.
 */
import { Worker } from 'node:worker_threads';

/** How often the thread looks at the parent pid. */
const WATCH_MS = 200;

const SOURCE = `
const { workerData } = require('node:worker_threads');
setInterval(() => {
  if (process.ppid !== workerData.hostPid) process.kill(process.pid, 'SIGKILL');
}, workerData.everyMs);
`;

/** True while this process's parent is still `hostPid`. */
export function hostAlive(hostPid: number): boolean {
  return process.ppid === hostPid;
}

/** Starts the watchdog thread: this process is killed within WATCH_MS of `hostPid` going away. */
export function watchHost(hostPid: number): void {
  const worker = new Worker(SOURCE, { eval: true, workerData: { hostPid, everyMs: WATCH_MS } });
  worker.unref();
}
