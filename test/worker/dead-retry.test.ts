/**
 * Dead-letter retry through the CLI: `forklift dead` lists dead tasks with their error,
 * `forklift dead --retry ID` and `--retry-all` put them back with fresh attempts, and a host
 * then completes them.
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { forklift, workerSuite } from './harness.js';

const suite = workerSuite('dead-retry');

describe('dead-letter retry', () => {
  it('dead --retry ID and --retry-all requeue dead tasks; a host completes them', async () => {
    const gate = `${suite.logFile()}.open`;
    const ids = await suite.enqueueIds(
      [1, 2, 3].map(() => ({ type: 'gate', payload: { open: gate }, maxAttempts: 1 })),
    );
    const [first, second, third] = ids;
    if (!first || !second || !third) throw new Error('no ids');
    await suite.startHost({ concurrency: 2 });
    for (const view of await suite.waitForAll(ids)) {
      expect(view).toMatchObject({ state: 'dead', attempts: 1 });
      expect(view.error).toBe(`gate closed: ${gate} does not exist`);
    }

    const listed = await forklift(['dead', '--json'], suite.cliEnv());
    expect(listed.code, listed.stderr).toBe(0);
    const page = JSON.parse(listed.stdout) as { total: number; tasks: { id: string }[] };
    expect(page.total).toBe(3);
    expect(page.tasks.map((t) => t.id).sort()).toEqual([...ids].sort());

    writeFileSync(gate, '');
    const one = await forklift(['dead', '--retry', first], suite.cliEnv());
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toBe('retried 1 dead task(s)\n');
    expect(await suite.waitForState(first, 'succeeded')).toMatchObject({
      attempts: 1,
      result: 'passed',
    });
    // The others are still dead until asked for.
    expect(await suite.queue.getTask(second)).toMatchObject({ state: 'dead' });

    const again = await forklift(['dead', '--retry', first], suite.cliEnv());
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`forklift: ${first} is not a dead task`);

    const all = await forklift(['dead', '--retry-all'], suite.cliEnv());
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toBe('retried 2 dead task(s)\n');
    for (const view of await suite.waitForAll([second, third])) {
      expect(view).toMatchObject({ state: 'succeeded', attempts: 1, result: 'passed' });
    }
    expect((await suite.queue.listDead()).total).toBe(0);
  });
});
