/**
 * The official client's conformance tests (test/gateway/conformance-suite.ts, the same body as
 * test/gateway/conformance.test.ts) through a gateway in front of a private 3-master Redis
 * Cluster. Every key has the prefix `{t:gw-conf}:`, a hash tag, so the multi-key commands
 * (MSET, MGET, RENAME, SINTER, ZUNIONSTORE, LMOVE, PFMERGE, ...) name keys of one slot; the
 * tests differ only where a cluster must: SCAN is refused, RANDOMKEY may answer nil.
 */
import { afterAll, beforeAll } from 'vitest';
import { conformanceSuite } from '../gateway/conformance-suite.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let cluster: TestCluster;
let gw: TestGateway;

beforeAll(async () => {
  cluster = await startCluster();
  gw = await startTestGateway({ redisUrl: cluster.url });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await cluster?.stop();
});

conformanceSuite({ gw: () => gw, prefix: '{t:gw-conf}:', cluster: true });
