/**
 * The official Node client's command surface through the gateway in front of one Redis
 * (conformance-suite.ts). The destructive ones are in conformance-destructive.test.ts.
 */
import type { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { deleteKeysByPrefix, testRedis } from '../support/redis.js';
import { conformanceSuite } from './conformance-suite.js';

const P = 't:gw-conf:';
let gw: TestGateway;
let direct: IORedis;

beforeAll(async () => {
  gw = await startTestGateway();
  direct = testRedis();
});

afterAll(async () => {
  await deleteKeysByPrefix(direct, P);
  direct.disconnect();
  await gw?.close();
});

conformanceSuite({ gw: () => gw, prefix: P, cluster: false });
