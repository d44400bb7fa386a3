/**
 * Edge benchmark: enqueue requests/s through the Worker in workerd (Miniflare) → the REST
 * gateway (a child process, as in production) → Redis, one task per request and 100 per batch
 * request, beside the same enqueues made directly with ioredis (`QueueClient`, as the worker
 * host and the CLI do). Also prints the Worker bundle's size. Runs on a private redis-server and
 * takes about 15-20 s.
 *
 * Run alone: npm run bench -- edge
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import { prepareBatch } from '../shared/enqueue-request.js';
import { QueueClient } from '../shared/queue-client.js';
import { tasks } from '../shared/tasks/index.js';
import {
  edgeBindings,
  startTestEdge,
  type TestEdge,
  WORKERD_BUILD_OPTIONS,
} from '../test/support/edge.js';
import { startThrowawayRedis } from '../test/support/gateway.js';
import { ioredisTransport } from '../worker-host/redis/ioredis-transport.js';
import { startGatewayProcess } from './gateway-process.js';
import { poster } from './http-post.js';
import { type Figures, measure } from './measure.js';

const BATCH = 100;
const SINGLE_CONCURRENCY = 32;
const BATCH_CONCURRENCY = 4;
const NAMESPACE = 'bench-edge';

/** Size of the Worker bundled as wrangler bundles it, plain and minified, raw and gzipped. */
async function bundleSizes(): Promise<{
  raw: number;
  gzip: number;
  minRaw: number;
  minGzip: number;
}> {
  const sizes = await Promise.all(
    [false, true].map(async (minify) => {
      const result = await build({
        ...WORKERD_BUILD_OPTIONS,
        entryPoints: [fileURLToPath(new URL('../edge/index.ts', import.meta.url))],
        write: false,
        minify,
      });
      const bytes = result.outputFiles[0]?.contents ?? new Uint8Array();
      return { raw: bytes.byteLength, gzip: gzipSync(bytes).byteLength };
    }),
  );
  const [plain, min] = sizes as [(typeof sizes)[0], (typeof sizes)[0]];
  return { raw: plain.raw, gzip: plain.gzip, minRaw: min.raw, minGzip: min.gzip };
}

const square = (x: number) => ({ type: 'square', payload: { x } });

const TEST_TOKEN = `bench-${randomBytes(12).toString('hex')}`;
const fmt = (n: number, digits = 0) => n.toFixed(digits);
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** Runs the benchmark and prints its figures. */
export default async function benchEdge(): Promise<void> {
  const redisServer = await startThrowawayRedis();
  const gatewayToken = randomBytes(16).toString('hex');
  const direct = new Redis(redisServer.url);
  let gateway: ChildProcess | undefined;
  let edge: TestEdge | undefined;
  try {
    const started = await startGatewayProcess(redisServer.url, gatewayToken);
    gateway = started.child;
    edge = await startTestEdge({
      bindings: edgeBindings(
        { url: started.url, token: gatewayToken },
        { namespace: NAMESPACE, extra: { FORKLIFT_API_TOKENS: TEST_TOKEN } },
      ),
    });
    const post = poster({
      host: edge.url.hostname,
      port: Number(edge.url.port),
      token: TEST_TOKEN,
      concurrency: SINGLE_CONCURRENCY,
      expect: 202,
    });
    const client = new QueueClient(ioredisTransport(direct), { namespace: NAMESPACE });
    const one = JSON.stringify(square(7));
    const many = JSON.stringify({ tasks: Array.from({ length: BATCH }, (_, i) => square(i)) });
    const prepareOne = () => {
      const prepared = prepareBatch(tasks, [square(7)]);
      if (!prepared.ok) throw new Error('invalid bench task');
      return prepared.specs;
    };
    const prepareMany = () => {
      const prepared = prepareBatch(
        tasks,
        Array.from({ length: BATCH }, (_, i) => square(i)),
      );
      if (!prepared.ok) throw new Error('invalid bench batch');
      return prepared.specs;
    };

    const edgeSingle = await measure(() => post('/v1/tasks', one), SINGLE_CONCURRENCY);
    const directSingle = await measure(() => client.enqueue(prepareOne()), SINGLE_CONCURRENCY);
    const edgeBatch = await measure(() => post('/v1/tasks/batch', many), BATCH_CONCURRENCY);
    const directBatch = await measure(() => client.enqueue(prepareMany()), BATCH_CONCURRENCY);
    const size = await bundleSizes();

    const row = (name: string, f: Figures, perRequest: number) =>
      `${name.padEnd(36)}${fmt(f.rps).padStart(10)}${fmt(f.rps * perRequest).padStart(11)}${fmt(f.p50, 2).padStart(9)}${fmt(f.p99, 2).padStart(9)}`;
    const lines = [
      'edge benchmark: enqueue over HTTP keep-alive → workerd → REST gateway (child process) → Redis, vs direct ioredis',
      `${''.padEnd(36)}${'req/s'.padStart(10)}${'tasks/s'.padStart(11)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`,
      row('edge POST /v1/tasks', edgeSingle, 1),
      row('direct ioredis enqueue (1 task)', directSingle, 1),
      row(`edge POST /v1/tasks/batch (${BATCH})`, edgeBatch, BATCH),
      row(`direct ioredis enqueue (${BATCH} tasks)`, directBatch, BATCH),
      `(req/s with ${SINGLE_CONCURRENCY} single / ${BATCH_CONCURRENCY} batch requests in flight; ` +
        'p50/p99 one request at a time; load generator, workerd, gateway and Redis share the machine)',
      `edge bundle (esbuild, as wrangler): ${kib(size.raw)} (gzip ${kib(size.gzip)}); ` +
        `minified ${kib(size.minRaw)} (gzip ${kib(size.minGzip)})`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await edge?.dispose();
    gateway?.kill('SIGTERM');
    direct.disconnect();
    await redisServer.kill();
  }
}
