/**
 * Fault 1: a reply lost on the wire. The proxy lets Redis run a claim or a finish call and
 * swallows its reply, then cuts the connection, as a network failure would; ioredis reconnects
 * and sends the call again. The calls are safe to re-send, so nothing is orphaned, no attempt
 * is spent twice (tasks allowed one attempt all succeed) and a host never holds more leases
 * than it has slots. Also: connections cut at random while tasks flow.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { scriptSha } from '../../shared/script-runner.js';
import { claimScript, finishScript } from '../../shared/scripts/index.js';
import { faultSuite } from './support/fault-suite.js';

const suite = faultSuite('lost-replies');

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Samples the number of active tasks until `done` resolves; returns the largest seen. */
async function maxActive(done: Promise<unknown>): Promise<number> {
  let max = 0;
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  while (!finished) {
    max = Math.max(max, await suite.redis.zcard('fault:{default}:active'));
    await sleep(5);
  }
  return max;
}

describe('lost replies', () => {
  it("a claim's lost reply: re-sent, it leases the same tasks again; nothing orphaned", async () => {
    const sha = await scriptSha(claimScript);
    await suite.startHost({ concurrency: 2, leaseMs: 2_000 });
    const xs = range(200);
    const ids: string[] = [];
    let peak = 0;
    for (let wave = 0; wave < 10; wave++) {
      // The host waits idle in BLPOP; the claim this wave wakes it for leases tasks, and its
      // reply is lost.
      await sleep(100);
      if (wave < 4) {
        suite.proxy.dropReply((argv) => argv[0]?.toUpperCase() === 'EVALSHA' && argv[1] === sha);
      }
      const wavesIds = await suite.enqueue(
        xs.slice(wave * 20, wave * 20 + 20).map((x) => ({ x, ms: 2, maxAttempts: 1 })),
      );
      ids.push(...wavesIds);
      peak = Math.max(peak, await maxActive(suite.settled(wavesIds, 15_000)));
    }
    const views = await suite.verify(ids, xs);
    expect(peak).toBeLessThanOrEqual(2);
    for (const view of views) expect(view).toMatchObject({ attempts: 1, stalls: 0 });
    expect(suite.proxy.dropped()).toBe(4);
  });

  it("a child's lost finish reply: re-sent, it stores once and leases the same next task", async () => {
    const sha = await scriptSha(finishScript);
    const xs = range(300);
    const ids = await suite.enqueue(xs.map((x) => ({ x, ms: 1, maxAttempts: 1 })));
    suite.proxy.dropReply((argv) => argv[0]?.toUpperCase() === 'EVALSHA' && argv[1] === sha, {
      times: 6,
    });
    const host = await suite.startHost({ concurrency: 2, prefetch: 0, leaseMs: 2_000 });
    const peak = maxActive(suite.settled(ids));
    const views = await suite.verify(ids, xs);
    expect(await peak).toBeLessThanOrEqual(2);
    for (const view of views) expect(view).toMatchObject({ attempts: 1, stalls: 0 });
    expect(Number(await suite.redis.hget('fault:{default}:stats', 'succeeded'))).toBe(300);
    // One run per task: a re-sent finish never leased a task twice.
    expect(suite.runs().filter((r) => r.event === 'start')).toHaveLength(300);
    expect(suite.proxy.dropped()).toBe(10);
    await host.close();
  });

  it('with prefetch 8, lost finish replies and cut connections lose nothing', async () => {
    const sha = await scriptSha(finishScript);
    const xs = range(400);
    const ids = await suite.enqueue(
      xs.map((x) => ({ x, ms: 1, maxAttempts: x % 2 === 0 ? 1 : 3 })),
    );
    suite.proxy.dropReply((argv) => argv[0]?.toUpperCase() === 'EVALSHA' && argv[1] === sha, {
      times: 5,
    });
    await suite.startHost({ concurrency: 2, prefetch: 8, leaseMs: 2_000 });
    const cutting = (async () => {
      for (let i = 0; i < 4; i++) {
        await sleep(80);
        suite.proxy.cutAll();
      }
    })();
    const peak = maxActive(suite.settled(ids));
    await cutting;
    const views = await suite.verify(ids, xs);
    expect(await peak).toBeLessThanOrEqual(2 * 9);
    for (const view of views) expect(view.stalls).toBe(0);
    expect(suite.runs().filter((r) => r.event === 'start')).toHaveLength(400);
    // A connection cut before its swallowed reply arrived loses that command's reply too.
    expect(suite.proxy.dropped()).toBeGreaterThanOrEqual(10 + 3);
  });
});
