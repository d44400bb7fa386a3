/**
 * `forklift gateway [--port 8079] [--host 127.0.0.1]`: the Upstash-compatible REST gateway in
 * front of `REDIS_URL`. Runs until SIGTERM or SIGINT, then shuts down gracefully and exits 0.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { GatewayConfigError, loadGatewayConfig } from '../gateway/config.js';
import { startGateway } from '../gateway/server.js';
import { CliError } from './cli-error.js';

const HELP = `usage: forklift gateway [--port <port>] [--host <host>]

Serves the Upstash Redis REST protocol in front of a Redis server.

options:
  --port <port>  TCP port to listen on (default 8079; 0 picks a free port)
  --host <host>  interface to bind (default 127.0.0.1)
  -h, --help     show this help

environment:
  REDIS_URL                         Redis to front (default redis://127.0.0.1:6379)
  FORKLIFT_GATEWAY_TOKENS           required: comma-separated bearer tokens (full access)
  FORKLIFT_GATEWAY_READONLY_TOKENS  comma-separated tokens limited to read commands
  FORKLIFT_GATEWAY_ALLOW            comma-separated command allowlist (NAME or NAME|SUB),
                                    or 'forklift' for exactly what Forklift's edge uses
                                    (Lua limited to Forklift's own scripts; recommended)
  FORKLIFT_GATEWAY_MAX_BODY_BYTES   request body limit in bytes (default 1048576)
  FORKLIFT_GATEWAY_SCRIPT_TIMEOUT_MS  Lua scripts running longer are killed (default 5000)
  FORKLIFT_GATEWAY_MAX_SUBSCRIBER_BUFFER_BYTES  an SSE subscriber this far behind is dropped
                                      (default 1048576)
  FORKLIFT_LOG_LEVEL                pino level: fatal, error, warn, info, debug (default info)
`;

function parseFlags(args: string[]): { port?: string; host?: string; help: boolean } {
  try {
    const { values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    return { port: values.port, host: values.host, help: values.help ?? false };
  } catch (error) {
    throw new CliError(
      `gateway: ${error instanceof Error ? error.message : String(error)}\n\n${HELP}`,
      2,
    );
  }
}

/** Runs the gateway until a termination signal; resolves to the exit code. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = parseFlags(args);
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  let config: ReturnType<typeof loadGatewayConfig>;
  try {
    config = loadGatewayConfig(env, flags);
  } catch (error) {
    if (error instanceof GatewayConfigError) throw new CliError(`gateway: ${error.message}`, 2);
    throw error;
  }
  const logger = pino({ name: 'forklift-gateway', level: config.logLevel });
  const gateway = await startGateway(config, { logger });
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'shutting down');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await gateway.close();
  return 0;
}
