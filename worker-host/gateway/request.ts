/**
 * Request → Redis commands, as the Upstash REST protocol defines it (upstash-rest-protocol.md §1, §3).
 *
 * - `POST /` body: one command, a JSON array `["SET","k","v","EX",100]`.
 * - `POST /pipeline`, `/multi-exec` body: an array of such arrays.
 * - Path style `/<cmd>/<arg>/…`: URL-decoded segments; for POST/PUT a non-empty raw body is
 *   appended as the last argument (bytes kept exact); then every query parameter other than
 *   `_token`, as `name value` (the value omitted when empty, so `?NX` adds a bare flag).
 *
 * JSON arguments: a string is sent as its UTF-8 bytes, a number as JavaScript's `String(n)`
 * (99.5 → "99.5", 1e21 → "1e+21"), a boolean as "true"/"false". `null`, objects and nested
 * arrays are rejected: correct client code never sends them.
 */
import type { CommandArg } from './commands.js';

/** One command: name first, then its arguments. */
export type Command = CommandArg[];

/** The request is malformed; answered 400 with this message. */
export class BadRequestError extends Error {
  override name = 'BadRequestError';
}

function toArg(value: unknown, where: string): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      throw new BadRequestError(
        `ERR invalid argument at ${where}: expected a string, number or boolean, got ${
          value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
        }`,
      );
  }
}

function toCommand(value: unknown, where: string): Command {
  if (!Array.isArray(value)) {
    throw new BadRequestError(`ERR ${where} must be a JSON array of command arguments`);
  }
  if (value.length === 0) throw new BadRequestError(`ERR ${where} is an empty command`);
  return value.map((v, i) => toArg(v, `${where}[${i}]`));
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new BadRequestError(
      `ERR failed to parse the request body as JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Parses the body of `POST /`: one command. */
export function parseSingle(body: Buffer): Command {
  return toCommand(parseJson(body), 'the request body');
}

/** Parses the body of `/pipeline` or `/multi-exec`: an array of commands (possibly empty). */
export function parseBatch(body: Buffer): Command[] {
  const value = parseJson(body);
  if (!Array.isArray(value)) {
    throw new BadRequestError('ERR the request body must be a JSON array of commands');
  }
  return value.map((item, i) => toCommand(item, `command ${i}`));
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequestError('ERR the request path is not valid percent-encoding');
  }
}

/**
 * Splits a raw (still percent-encoded) path into decoded segments, dropping empty ones at either
 * end. An encoded slash (`%2F`) stays inside its segment.
 */
export function pathSegments(rawPath: string): string[] {
  const parts = rawPath.split('/');
  while (parts.length > 0 && parts[0] === '') parts.shift();
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.map(decodeSegment);
}

/**
 * Builds a path-style command.
 * @param segments decoded path segments, command name first
 * @param body raw request body (POST/PUT), appended when non-empty
 * @param query decoded query parameters in order; `_token` is skipped
 * @example pathCommand(['set', 'foo'], Buffer.from('v'), [['EX', '100']]) // SET foo v EX 100
 */
export function pathCommand(
  segments: readonly string[],
  body: Buffer | null,
  query: Iterable<[string, string]>,
): Command {
  if (segments.length === 0) throw new BadRequestError('ERR empty command');
  const command: Command = [...segments];
  if (body !== null && body.length > 0) command.push(body);
  for (const [name, value] of query) {
    if (name === '_token') continue;
    command.push(name);
    if (value !== '') command.push(value);
  }
  return command;
}
