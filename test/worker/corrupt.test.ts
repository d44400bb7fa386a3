/**
 * Corrupted records: a queued task whose `payload` field is not JSON, and a task key that holds
 * a string instead of a hash, each end dead with an error saying what is wrong, and the host
 * goes on with the next tasks; `forklift status` of such a task names the problem.
 */
import { describe, expect, it } from 'vitest';
import { forklift, readRecords, workerSuite } from './harness.js';

const suite = workerSuite('corrupt');

describe('corrupted task records', () => {
  it('end dead with a clear error; the host keeps processing', async () => {
    const file = suite.logFile();
    const [badJson, ok1, notHash, ok2] = await suite.enqueueIds(
      ['bad-json', 'ok-1', 'not-a-hash', 'ok-2'].map((tag) => ({
        type: 'record',
        payload: { file, tag },
      })),
    );
    if (!badJson || !ok1 || !notHash || !ok2) throw new Error('no ids');
    await suite.redis.hset(suite.keys.task(badJson), 'payload', '{"file": oops');
    await suite.redis.del(suite.keys.task(notHash));
    await suite.redis.set(suite.keys.task(notHash), 'garbage');

    await suite.startHost({ concurrency: 1 });
    const [b, d] = await suite.waitForAll([ok1, ok2]);
    expect(b).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect(d).toMatchObject({ state: 'succeeded', attempts: 1 });

    // The dead records still hold what was wrong, so they are read raw (getTask would throw
    // CorruptRecordError on the bad payload).
    const raw = (id: string) => suite.redis.hmget(suite.keys.task(id), 'state', 'error');
    const [stateA, errorA] = await raw(badJson);
    expect(stateA).toBe('dead');
    expect(errorA).toMatch(
      /^CorruptRecordError: corrupted record for task .+: payload is not valid JSON$/,
    );
    const [stateC, errorC] = await raw(notHash);
    expect(stateC).toBe('dead');
    expect(errorC).toMatch(/^corrupted record: expected a hash, found a string \(kept at .+\)$/);
    expect(await suite.redis.get(`${suite.keys.prefix}corrupt:${notHash}`)).toBe('garbage');

    expect(readRecords(file).map((r) => r.tag)).toEqual(['ok-1', 'ok-2']);
    // `forklift status` names the problem instead of crashing with a stack trace.
    const status = await forklift(['status', badJson, '--json'], suite.cliEnv());
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toEqual({
      error: {
        code: 'corrupt_record',
        message: `corrupted record for task ${badJson}: payload is not valid JSON`,
      },
    });
    expect(status.stderr).toBe(
      `forklift: corrupted record for task ${badJson}: payload is not valid JSON\n`,
    );

    const dead = await suite.queue.listDead();
    expect(dead.tasks.map((t) => t.id).sort()).toEqual([badJson, notHash].sort());
  });
});
