/**
 * The REST gateway in front of a private 3-master Redis Cluster (`redis+cluster://`): commands
 * go to the master of their key's slot, a pipeline mixing slots answers in order, a transaction
 * across slots answers CROSSSLOT and writes nothing, commands that span the cluster (DBSIZE,
 * KEYS, SCRIPT LOAD / EXISTS) run on every master, SCAN is refused, pub/sub reaches a subscriber
 * whichever node a message is published on, and a runaway script is killed on its own node.
 * Real servers, nothing mocked.
 */
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySlot } from '../../worker-host/gateway/cluster-slot.js';
import { CLUSTER_RULES, COMMAND_TABLE } from '../../worker-host/gateway/command-table.js';
import { call } from '../gateway/http-call.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/redis.js';

const P = 't:gw-cluster:';
let cluster: TestCluster;
let gw: TestGateway;

/** Keys of this file on three different masters (found, not assumed). */
let spread: string[] = [];

beforeAll(async () => {
  cluster = await startCluster();
  gw = await startTestGateway({ redisUrl: cluster.url });
  const byMaster = new Map<number, string>();
  for (let i = 0; byMaster.size < 3 && i < 1000; i++) {
    const key = `${P}k${i}`;
    const port = await cluster.masterOf(key);
    if (!byMaster.has(port)) byMaster.set(port, key);
  }
  spread = [...byMaster.values()];
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await cluster?.stop();
});

/** The value of `key` read straight from the master that serves it. */
async function onItsMaster(key: string): Promise<string | null> {
  const node = cluster.node(await cluster.masterOf(key));
  try {
    return await node.get(key);
  } finally {
    node.disconnect();
  }
}

describe('routing by slot', () => {
  it('writes each key on the master of its slot; keyless commands answer', async () => {
    expect(spread).toHaveLength(3);
    for (const key of spread) {
      expect(await call(gw, '/', { body: ['SET', key, `v:${key}`] })).toMatchObject({
        status: 200,
        body: { result: 'OK' },
      });
      expect(await onItsMaster(key)).toBe(`v:${key}`);
      expect(await call(gw, `/get/${encodeURIComponent(key)}`)).toMatchObject({
        body: { result: `v:${key}` },
      });
    }
    expect(await call(gw, '/', { body: ['PING'] })).toMatchObject({ body: { result: 'PONG' } });
    expect(await call(gw, '/', { body: ['TIME'] })).toMatchObject({ status: 200 });
  });

  it('a single command with keys in several slots answers CROSSSLOT', async () => {
    const [a = '', b = ''] = spread;
    expect(await call(gw, '/', { body: ['MGET', a, b] })).toEqual(
      expect.objectContaining({
        status: 400,
        body: { error: "CROSSSLOT Keys in request don't hash to the same slot" },
      }),
    );
    expect(await call(gw, '/', { body: ['MSET', `{${P}}x`, '1', `{${P}}y`, '2'] })).toMatchObject({
      body: { result: 'OK' },
    });
  });

  it('a pipeline mixing slots answers in order, an error in one item not stopping the rest', async () => {
    const [a = '', b = '', c = ''] = spread;
    const answer = await call(gw, '/pipeline', {
      body: [
        ['SET', a, '1'],
        ['INCR', b],
        ['GET', a],
        ['MGET', a, c],
        ['PING'],
        ['SET', c, 'third'],
        ['GET', b],
        ['GET', c],
        ['HGET', a, 'f'],
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual([
      { result: 'OK' },
      { error: 'ERR value is not an integer or out of range' },
      { result: '1' },
      { error: "CROSSSLOT Keys in request don't hash to the same slot" },
      { result: 'PONG' },
      { result: 'OK' },
      { result: `v:${b}` },
      { result: 'third' },
      { error: 'WRONGTYPE Operation against a key holding the wrong kind of value' },
    ]);
    expect(await onItsMaster(c)).toBe('third');
  });
});

describe('/multi-exec', () => {
  it('across slots answers CROSSSLOT and writes nothing', async () => {
    const a = `${P}tx:a`;
    const b = spread.find((k) => keySlot(k) !== keySlot(a)) ?? '';
    const answer = await call(gw, '/multi-exec', {
      body: [
        ['SET', a, 'written?'],
        ['SET', b, 'written?'],
      ],
    });
    expect(answer).toMatchObject({
      status: 400,
      body: { error: "CROSSSLOT Keys in request don't hash to the same slot" },
    });
    expect(await onItsMaster(a)).toBeNull();
    expect(await onItsMaster(b)).not.toBe('written?');
  });

  it('in one slot runs atomically on its master, through the official client too', async () => {
    const tag = `{${P}tx}`;
    const answer = await call(gw, '/multi-exec', {
      body: [
        ['SET', `${tag}:a`, '1'],
        ['INCR', `${tag}:a`],
        ['RPUSH', `${tag}:l`, 'x', 'y'],
        ['PING'],
      ],
    });
    expect(answer).toMatchObject({
      status: 200,
      body: [{ result: 'OK' }, { result: 2 }, { result: 2 }, { result: 'PONG' }],
    });
    expect(await onItsMaster(`${tag}:a`)).toBe('2');
    const redis = new Redis({ url: gw.url, token: gw.token, enableTelemetry: false });
    const tx = redis.multi();
    tx.incr(`${tag}:a`);
    tx.get(`${tag}:a`);
    expect(await tx.exec()).toEqual([3, 3]);
  });

  it('a command that runs on every master discards the transaction', async () => {
    const answer = await call(gw, '/multi-exec', { body: [['SET', `${P}x`, '1'], ['DBSIZE']] });
    expect(answer).toMatchObject({ status: 400 });
    expect((answer.body as { error: string }).error).toMatch(
      /^EXECABORT Transaction discarded because of: ERR command 'dbsize' is not supported by the REST gateway on a Redis Cluster/,
    );
    expect(await onItsMaster(`${P}x`)).toBeNull();
  });
});

describe('commands that span the cluster', () => {
  it('DBSIZE adds up the masters, KEYS joins them, SCAN and MOVE are refused', async () => {
    const keys = [0, 1, 2, 3, 4, 5].map((i) => `${P}span:${i}`);
    for (const key of keys) await call(gw, '/', { body: ['SET', key, '1'] });
    const masters = new Set(await Promise.all(keys.map((k) => cluster.masterOf(k))));
    expect(masters.size).toBeGreaterThan(1);
    const found = await call(gw, '/', { body: ['KEYS', `${P}span:*`] });
    expect(((found.body as { result: string[] }).result ?? []).sort()).toEqual(keys);
    let total = 0;
    for (const { port } of cluster.nodes) {
      const node = cluster.node(port);
      total += await node.dbsize();
      node.disconnect();
    }
    expect(await call(gw, '/', { body: ['DBSIZE'] })).toMatchObject({ body: { result: total } });
    const scan = await call(gw, '/', { body: ['SCAN', '0'] });
    expect(scan).toMatchObject({ status: 400 });
    expect((scan.body as { error: string }).error).toMatch(
      /^ERR command 'scan' is not supported by the REST gateway on a Redis Cluster/,
    );
    expect(await call(gw, '/', { body: ['MOVE', keys[0], '1'] })).toMatchObject({ status: 400 });
  });

  it('SCRIPT LOAD reaches every master, so EVALSHA runs whatever the slot', async () => {
    const body = `return redis.call('GET', KEYS[1]) -- ${Math.random()}`;
    const loaded = await call(gw, '/', { body: ['SCRIPT', 'LOAD', body] });
    const sha = (loaded.body as { result: string }).result;
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    for (const key of spread) {
      expect(await call(gw, '/', { body: ['EVALSHA', sha, '1', key] })).toMatchObject({
        status: 200,
      });
    }
    expect(await call(gw, '/', { body: ['SCRIPT', 'EXISTS', sha, 'f'.repeat(40)] })).toMatchObject({
      body: { result: [1, 0] },
    });
    // Known by one master only: not usable everywhere, so it does not "exist".
    const one = cluster.node(cluster.nodes[0]?.port ?? 0);
    const lonely = await one.script('LOAD', `return 'lonely ${Math.random()}'`);
    one.disconnect();
    expect(await call(gw, '/', { body: ['SCRIPT', 'EXISTS', lonely] })).toMatchObject({
      body: { result: [0] },
    });
  });
});

describe('pub/sub', () => {
  it('a subscriber gets messages published on every node', async () => {
    const channel = `${P}news`;
    const redis = new Redis({ url: gw.url, token: gw.token, enableTelemetry: false });
    const sub = redis.subscribe<string>([channel]);
    const got: string[] = [];
    let subscribed = false;
    sub.on('subscribe', () => {
      subscribed = true;
    });
    sub.on('message', ({ message }) => got.push(String(message)));
    await waitFor(() => subscribed, { what: 'the subscription', timeoutMs: 5_000 });
    for (const { port } of cluster.nodes) {
      const node = cluster.node(port);
      await node.publish(channel, `from ${port}`);
      node.disconnect();
    }
    await waitFor(() => got.length === 3, { what: 'three messages', timeoutMs: 5_000 });
    expect(got.sort()).toEqual(cluster.nodes.map(({ port }) => `from ${port}`).sort());
    await sub.unsubscribe();
  });
});

describe('the command table', () => {
  it('gives cluster rules only to commands it lets run', () => {
    for (const key of CLUSTER_RULES.keys()) {
      expect(COMMAND_TABLE.get(key)?.kind, key).toBe('run');
    }
  });
});

describe('a resharding', () => {
  it('is followed: a key whose slot moved is read and written on its new master', async () => {
    const key = `${P}moving`;
    const tag = `{${key}}`;
    expect(await call(gw, '/', { body: ['SET', key, 'before'] })).toMatchObject({ status: 200 });
    const from = await cluster.masterOf(key);
    const to = (await cluster.masters()).find((port) => port !== from) ?? 0;
    await cluster.moveSlotOf(key, to);
    expect(await cluster.masterOf(key)).toBe(to);
    // The router gets MOVED, learns the new owner and sends the command there.
    expect(await call(gw, '/', { body: ['GET', key] })).toMatchObject({
      body: { result: 'before' },
    });
    expect(await call(gw, '/', { body: ['SET', key, 'after'] })).toMatchObject({ status: 200 });
    expect(await onItsMaster(key)).toBe('after');
    // A transaction goes to the slot's master as the slot table now says.
    expect(keySlot(tag)).toBe(keySlot(key));
    const tx = await call(gw, '/multi-exec', {
      body: [
        ['GET', key],
        ['SET', key, 'tx'],
      ],
    });
    expect(tx).toMatchObject({ status: 200, body: [{ result: 'after' }, { result: 'OK' }] });
    expect(await onItsMaster(key)).toBe('tx');
  });
});
