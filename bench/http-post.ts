/** POSTs over HTTP/1.1 keep-alive, as a load balancer would, for the HTTP benchmarks. */
import { Agent, request } from 'node:http';

/** Options of `poster`. */
export interface PosterOptions {
  host: string;
  port: number;
  token: string;
  /** Sockets kept open (the most requests in flight). */
  concurrency: number;
  /** The status every answer must have. */
  expect: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** Returns `post(path, body)`, resolving to the answer's text, rejecting on another status. */
export function poster(options: PosterOptions): (path: string, body: string) => Promise<string> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  return (path, body) =>
    new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: options.host,
          port: options.port,
          path,
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${options.token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            ...options.headers,
          },
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            data += chunk;
          });
          res.on('end', () =>
            res.statusCode === options.expect
              ? resolve(data)
              : reject(new Error(`${path} answered ${res.statusCode}: ${data}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}
