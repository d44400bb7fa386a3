/**
 * Argument parsing shared by the commands: `node:util` parseArgs in strict mode, with every
 * failure turned into a CliError that names the flag, and number parsing that refuses
 * anything but a whole number in range.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { CliError } from './cli-error.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses `args` against `options`; unknown flags and missing values are CliErrors. */
export function parse<O extends Options>(
  command: string,
  args: string[],
  options: O,
  allowPositionals = true,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CliError(
      `${command}: ${message.replace(/\. To specify a positional argument.*$/s, '')} (see 'forklift ${command} --help')`,
    );
  }
}

const HELP_OPTION = { type: 'boolean', short: 'h' } as const;

/**
 * Parses a command's arguments like `parse`, with `--help`/`-h` added: when it is given, `help`
 * is printed and the result is undefined (the command then exits 0).
 */
export function parseCommand<O extends Options>(
  help: string,
  command: string,
  args: string[],
  options: O,
  allowPositionals = true,
) {
  const withHelp = { ...options, help: HELP_OPTION } as O & { help: typeof HELP_OPTION };
  const parsed = parse(command, args, withHelp, allowPositionals);
  if (!(parsed.values as { help?: boolean }).help) return parsed;
  process.stdout.write(`${help}\n`);
  return undefined;
}

/** Parses a whole number flag value within [min, max]. */
export function intFlag(
  flag: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim()))
    throw new CliError(`${flag} must be a whole number, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min || n > max) throw new CliError(`${flag} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** Parses a non-negative decimal number of seconds (e.g. `--delay 1.5`) into milliseconds. */
export function secondsFlag(
  flag: string,
  value: string | undefined,
  minS: number,
  maxS: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value.trim()))
    throw new CliError(`${flag} must be a number of seconds, got ${JSON.stringify(value)}`);
  const s = Number(value);
  if (s < minS || s > maxS)
    throw new CliError(`${flag} must be between ${minS} and ${maxS} seconds, got ${s}`);
  return Math.round(s * 1000);
}
