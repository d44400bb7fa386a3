import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startGatewayProcess } from './gateway-process.js';
import { poster } from './http-post.js';
import { type Figures, measure } from './measure.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `bench:gw:${randomBytes(4).toString('hex')}:`;
const PIPELINE = 100;

const fmt = (n: number, digits = 0) => n.toFixed(digits).padStart(8);

/** Runs the benchmark and prints its figures. */
export default async function benchGateway(): Promise<void> {
  const token = randomBytes(16).toString('hex');
  const direct = new Redis(REDIS_URL);
  const { child, port } = await startGatewayProcess(REDIS_URL, token);
  const post = poster({
    host: '127.0.0.1',
    port,
    token,
    concurrency: 32,
    expect: 200,
    headers: { 'upstash-encoding': 'base64' },
  });
  try {
    await direct.set(`${PREFIX}k`, 'value-of-a-typical-size-0123456789');
    const batch = Array.from({ length: PIPELINE }, (_, i) =>
      i % 2 === 0 ? ['SET', `${PREFIX}p${i}`, String(i)] : ['GET', `${PREFIX}p${i - 1}`],
    );
    const batchBody = JSON.stringify(batch);
    const singleBody = JSON.stringify(['GET', `${PREFIX}k`]);

    const directSingle = await measure(() => direct.get(`${PREFIX}k`), 32, 50);
    const gatewaySingle = await measure(() => post('/', singleBody), 32, 50);
    const directPipe = await measure(
      () => {
        const p = direct.pipeline();
        for (const [cmd, ...args] of batch) p.call(cmd as string, ...(args as string[]));
        return p.exec();
      },
      8,
      50,
    );
    const gatewayPipe = await measure(() => post('/pipeline', batchBody), 8, 50);

    const rows: Array<[string, Figures, Figures]> = [
      ['single command (GET)', directSingle, gatewaySingle],
      [`${PIPELINE}-command pipeline`, directPipe, gatewayPipe],
    ];
    const lines = [
      'gateway benchmark: direct ioredis vs REST gateway (child process, HTTP/1.1 keep-alive)',
      `${''.padEnd(24)}${'direct req/s'.padStart(14)}${'p50 ms'.padStart(9)}${'gw req/s'.padStart(11)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'added p50 ms'.padStart(14)}`,
      ...rows.map(
        ([name, d, g]) =>
          `${name.padEnd(24)}${fmt(d.rps).padStart(14)}${fmt(d.p50, 3).padStart(9)}${fmt(g.rps).padStart(11)}${fmt(g.p50, 3).padStart(9)}${fmt(g.p99, 3).padStart(9)}${fmt(g.p50 - d.p50, 3).padStart(14)}`,
      ),
      `(req/s with 32 single / 8 pipeline requests in flight; a pipeline request carries ${PIPELINE} commands)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    const keys = await direct.keys(`${PREFIX}*`);
    if (keys.length > 0) await direct.del(...keys);
    direct.disconnect();
    child.kill('SIGTERM');
  }
}
