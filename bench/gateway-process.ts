/**
 * Starts the REST gateway as a child process (`forklift gateway --port 0`), as it runs in
 * production, and resolves with its URL once it logs that it listens.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A gateway child process and the URL it serves. */
export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  port: number;
}

/** Forks a gateway in front of `redisUrl` that accepts `token`. */
export function startGatewayProcess(redisUrl: string, token: string): Promise<GatewayProcess> {
  const main = fileURLToPath(new URL('../worker-host/cli/main.ts', import.meta.url));
  const child = fork(main, ['gateway', '--port', '0'], {
    env: {
      ...process.env,
      FORKLIFT_GATEWAY_TOKENS: token,
      FORKLIFT_LOG_LEVEL: 'info',
      REDIS_URL: redisUrl,
    },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${out}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${out}`)));
    child.stdout?.on('data', (chunk) => {
      out += chunk;
      const match = /"url":"(http:\/\/[^"]*:(\d+))"/.exec(out);
      if (match?.[1] && match[2]) {
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve({ child, url: match[1], port: Number(match[2]) });
      }
    });
  });
}
