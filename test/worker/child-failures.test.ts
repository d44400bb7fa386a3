/**
 * A child that dies under a task (exits, is SIGKILLed, or hangs past the task's timeout and is
 * killed by the pool): the run fails, the task is retried by its policy and ends dead after
 * maxAttempts with an error that says what happened, and the pool is back to N live children
 * (the BullMQ sandbox-crash cases, against a real Redis).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { WorkerHost } from '../../worker-host/host.js';
import { waitFor } from '../support/redis.js';
import { isAlive, workerSuite } from './harness.js';

const suite = workerSuite('child-failures');

const cases = [
  {
    name: 'exits with code 3',
    request: { type: 'exit', payload: { code: 3 } },
    error: /^ChildExitError: child process exited \(code 3\) while running the task$/,
  },
  {
    name: 'exits with code 0',
    request: { type: 'exit', payload: { code: 0 } },
    error: /^ChildExitError: child process exited \(code 0\) while running the task$/,
  },
  {
    name: 'is killed by SIGKILL',
    request: { type: 'kill', payload: {} },
    error: /^ChildExitError: child process exited \(signal SIGKILL\) while running the task$/,
  },
  {
    name: 'hangs past its timeout',
    request: { type: 'hang', payload: {}, timeoutMs: 500 },
    error: /^TimeoutError: timed out after 500 ms \(the child process was killed\)$/,
  },
  {
    name: 'busy-loops past its timeout',
    request: { type: 'hang', payload: { busy: true }, timeoutMs: 500 },
    error: /^TimeoutError: timed out after 500 ms \(the child process was killed\)$/,
  },
];

describe('a child dies under a task', () => {
  let host: WorkerHost;
  beforeAll(async () => {
    host = await suite.startHost({ concurrency: 2 }, 'file');
  });

  it.each(cases)('$name: retried, then dead; the pool is whole again', async (c) => {
    await waitFor(() => host.pids().length === 2 && host.pids().every(isAlive), {
      what: 'two live children',
    });
    const before = host.pids();

    const [id] = await suite.enqueueIds([{ ...c.request, maxAttempts: 2 }]);
    if (!id) throw new Error('no id');
    const view = await suite.waitForState(id, 'dead');
    expect(view.attempts).toBe(2);
    expect(view.error).toMatch(c.error);

    // Each attempt cost a child: at least one of the two before is gone, and the pool has two
    // live children again.
    await waitFor(() => host.pids().length === 2 && host.pids().every(isAlive), {
      what: 'two live children again',
    });
    expect(before.some((pid) => !isAlive(pid))).toBe(true);
    expect(before.filter((pid) => host.pids().includes(pid)).length).toBeLessThan(2);
  });
});
