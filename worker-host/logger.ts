/**
 * Structured JSON logs (pino) to stdout. Every line about a task carries `taskId`.
 * The CLI takes the level from FORKLIFT_LOG_LEVEL (default `info`; `debug` logs every run).
 */
import { type Logger, pino } from 'pino';

/** Creates the process logger. */
export function createLogger(level = 'info'): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
