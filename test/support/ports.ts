/** Free TCP ports on 127.0.0.1, for the servers tests start (Redis, gateways, proxies). */
import { type AddressInfo, createServer } from 'node:net';

/** A port nothing listens on right now (the OS picks it; another process may take it later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
