/**
 * The secrets the CLI must never print, and the guard that keeps them off its output.
 *
 * The secrets are the credentials in REDIS_URL (see `redisUrlSecrets`) and the bearer tokens
 * the environment configures (FORKLIFT_GATEWAY_TOKENS, FORKLIFT_GATEWAY_READONLY_TOKENS,
 * FORKLIFT_API_TOKENS, FORKLIFT_API_READONLY_TOKENS). `main.ts` reads them once and
 * `guardOutput` makes every string the process writes to stdout or stderr pass through
 * `redactText`: error messages, command output, a library's `console.error`. pino writes to
 * the file descriptor directly, so loggers are made with the same secrets
 * (`createLogger(level, { secrets })`). Child processes write to
 * the inherited descriptors and are not covered: wrangler is given no REDIS_URL or token
 * variable (see dev-command.ts), and the worker pool's children report their errors to the
 * host, which logs them through its logger.
 */
import { redactText, redisUrlSecrets } from '../redis/redact.js';

/** Environment variables holding comma-separated bearer tokens. */
export const TOKEN_VARIABLES = [
  'FORKLIFT_GATEWAY_TOKENS',
  'FORKLIFT_GATEWAY_READONLY_TOKENS',
  'FORKLIFT_API_TOKENS',
  'FORKLIFT_API_READONLY_TOKENS',
] as const;

/** Every secret `env` configures for the CLI: the REDIS_URL credentials and the tokens. */
export function cliSecrets(env: NodeJS.ProcessEnv): string[] {
  const secrets = env.REDIS_URL ? redisUrlSecrets(env.REDIS_URL) : [];
  for (const name of TOKEN_VARIABLES) {
    for (const token of env[name]?.split(',') ?? []) {
      if (token.trim()) secrets.push(token.trim());
    }
  }
  return [...new Set(secrets)];
}

type Write = (chunk: unknown, ...rest: unknown[]) => boolean;

/**
 * Masks `secrets` (and the credentials of any Redis URL) in every string written to
 * `process.stdout` and `process.stderr` from now on. Non-string chunks pass unchanged.
 */
export function guardOutput(secrets: readonly string[]): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as Write;
    const guarded: Write = (chunk, ...rest) =>
      write(typeof chunk === 'string' ? redactText(chunk, secrets) : chunk, ...rest);
    stream.write = guarded as typeof stream.write;
  }
}
