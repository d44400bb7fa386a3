/**
 * Structured JSON logs (pino) to stdout. Every line about a task carries `taskId`.
 * The CLI takes the level from FORKLIFT_LOG_LEVEL (default `info`; `debug` logs every run).
 *
 * Every line passes through `redactText` on its way out: the credentials of any Redis URL it
 * quotes are masked, and so is every occurrence of the `secrets` the logger was made with (the
 * CLI passes the password of REDIS_URL), whichever field or error message carried them.
 */
import { type Logger, pino } from 'pino';
import { redactText } from './redis/redact.js';

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** Strings never to write (e.g. the Redis password); each is replaced by `***`. */
  secrets?: readonly string[];
}

/** Creates the process logger. */
export function createLogger(level = 'info', options: LoggerOptions = {}): Logger {
  const secrets = [...(options.secrets ?? [])];
  return pino({
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    hooks: { streamWrite: (line) => redactText(line, secrets) },
  });
}
