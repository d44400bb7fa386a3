/**
 * An error meant for the person at the terminal: printed as `forklift: <message>` without a
 * stack trace, and the process exits with `exitCode` (2 for bad usage, 1 otherwise).
 */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}
