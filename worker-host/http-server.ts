/**
 * The worker host's HTTP server (started when `metricsPort` is given; CLI `--metrics-port`):
 *
 * | route          | answer                                                                  |
 * |----------------|-------------------------------------------------------------------------|
 * | `GET /metrics` | Prometheus text (metrics.ts); 503 when a collector fails                |
 * | `GET /healthz` | liveness, JSON: 200 `{"status":"ok",...}`, 503 when the event loop is stuck |
 * | `GET /readyz`  | readiness, JSON: 200 `{"status":"ready",...}`, 503 `{"status":"not ready",...}` with each check and why |
 *
 * Neither health route talks to Redis: they read what the host already tracks (health.ts), so a
 * probe costs no Redis command however often it comes. Anything else is a 404.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LivenessReport, ReadinessReport } from './health.js';
import type { HostMetrics } from './metrics.js';

/** What the server answers with. */
export interface HostHttpRoutes {
  metrics: HostMetrics;
  liveness: () => LivenessReport;
  readiness: () => ReadinessReport;
}

/** A running host HTTP server. */
export interface HostHttpServer {
  /** The port bound (useful with port 0). */
  port: number;
  /** Stops listening and closes its connections; resolves when closed. */
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    .end(`${JSON.stringify(body)}\n`);
}

/** Serves `routes` on `port` (0: any free port) and `host`. */
export async function serveHostHttp(
  routes: HostHttpRoutes,
  port: number,
  host: string,
): Promise<HostHttpServer> {
  const { registry } = routes.metrics;
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      const report = routes.liveness();
      json(res, report.status === 'ok' ? 200 : 503, report);
    } else if (req.method === 'GET' && path === '/readyz') {
      const report = routes.readiness();
      json(res, report.status === 'ready' ? 200 : 503, report);
    } else if (req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) =>
          res
            .writeHead(503, { 'content-type': 'text/plain' })
            .end(`metrics unavailable: ${String(error)}\n`),
      );
    } else {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found: try GET /metrics, /healthz or /readyz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
