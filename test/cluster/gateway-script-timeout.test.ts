/**
 * The gateway's script time limit on a Redis Cluster, and its password on every node: a runaway
 * script is killed with SCRIPT KILL on the control connection of the master running it (a kill
 * sent elsewhere would answer NOTBUSY and the request would hang), whichever master that is;
 * with a wrong password nothing answers and no error or log line shows it. A private
 * password-protected 3-master cluster whose `busy-reply-threshold` is lowered so that Redis
 * reads the kill at once. Nothing mocked.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySlot } from '../../worker-host/gateway/cluster-slot.js';
import { gatewayConfig } from '../../worker-host/gateway/config.js';
import { startGateway } from '../../worker-host/gateway/server.js';
import { call } from '../gateway/http-call.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const PASSWORD = 'cluster-Secret-77';
const LIMIT_MS = 400;
const WAIT = 8_000;
const FOREVER = 'while true do end';
const KILLED = `ERR script killed by the REST gateway: it ran longer than ${LIMIT_MS} ms (FORKLIFT_GATEWAY_SCRIPT_TIMEOUT_MS)`;
const P = 't:gw-cluster-lua:';

let cluster: TestCluster;
let gw: TestGateway;
let url = '';

beforeAll(async () => {
  cluster = await startCluster({ password: PASSWORD });
  url = cluster.url.replace('://', `://:${encodeURIComponent(PASSWORD)}@`);
  for (const { port } of cluster.nodes) {
    const node = cluster.node(port);
    await node.config('SET', 'busy-reply-threshold', '50');
    node.disconnect();
  }
  gw = await startTestGateway({ redisUrl: url, config: { scriptTimeoutMs: LIMIT_MS } });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await cluster?.stop();
});

/** One key of this file on each master. */
async function keyPerMaster(): Promise<string[]> {
  const byMaster = new Map<number, string>();
  for (let i = 0; byMaster.size < 3 && i < 1000; i++) {
    const key = `${P}k${i}`;
    const port = await cluster.masterOf(key);
    if (!byMaster.has(port)) byMaster.set(port, key);
  }
  return [...byMaster.values()];
}

describe('a runaway script', () => {
  it('is killed on the master running it, whichever it is; that master answers again', async () => {
    const keys = await keyPerMaster();
    expect(keys).toHaveLength(3);
    for (const key of keys) {
      const a = await call(gw, '/', { body: ['EVAL', FOREVER, '1', key], timeoutMs: WAIT });
      expect(a, key).toMatchObject({ status: 400, body: { error: KILLED } });
      expect(await call(gw, '/', { body: ['SET', key, 'after'], timeoutMs: WAIT })).toMatchObject({
        status: 200,
        body: { result: 'OK' },
      });
    }
    const keyless = await call(gw, '/', { body: ['EVAL', FOREVER, '0'], timeoutMs: WAIT });
    expect(keyless).toMatchObject({ status: 400, body: { error: KILLED } });
  });

  it('is killed inside a pipeline and a transaction; the other items run', async () => {
    const [a = '', b = ''] = await keyPerMaster();
    const pipe = await call(gw, '/pipeline', {
      body: [
        ['SET', a, '1'],
        ['EVAL', FOREVER, '1', b],
        ['GET', a],
      ],
      timeoutMs: WAIT,
    });
    expect(pipe).toMatchObject({
      status: 200,
      body: [{ result: 'OK' }, { error: KILLED }, { result: '1' }],
    });
    const tag = `{${P}tx}`;
    expect(keySlot(`${tag}:a`)).toBe(keySlot(`${tag}:n`));
    const tx = await call(gw, '/multi-exec', {
      body: [
        ['EVAL_RO', FOREVER, '1', `${tag}:a`],
        ['INCR', `${tag}:n`],
      ],
      timeoutMs: WAIT,
    });
    expect(tx).toMatchObject({ status: 200, body: [{ error: KILLED }, { result: 1 }] });
  });
});

describe('the password', () => {
  it('is never shown: a wrong one answers 503 without it, in answers and logs', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const wrong = 'Wrong-Password-123';
    const running = await startGateway(
      gatewayConfig({
        redisUrl: cluster.url.replace('://', `://:${wrong}@`),
        tokens: ['t0ken'],
        port: 0,
      }),
      { logger: pino({ level: 'debug' }, sink), redisWaitMs: 1_500 },
    );
    try {
      const res = await fetch(`${running.url}/`, {
        method: 'POST',
        headers: { authorization: 'Bearer t0ken' },
        body: '["GET","x"]',
      });
      expect(res.status).toBe(503);
      const text = await res.text();
      expect(text).not.toContain(wrong);
    } finally {
      await running.close();
    }
    const log = lines.join('');
    expect(log).toContain('redis not reachable yet');
    expect(log).toContain(':***@');
    expect(log).not.toContain(wrong);
    expect(log).not.toContain(PASSWORD);
  });
});
