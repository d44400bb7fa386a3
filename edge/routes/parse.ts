/** Reading a route's query, path and body against its schema: 400 naming each bad field. */
import type { Context } from 'hono';
import type * as z from 'zod';
import { toIssues } from '../../shared/index.js';
import { readJson } from '../body.js';
import type { AppEnv } from '../context.js';
import { validationError } from '../errors.js';
import { timeToMs } from '../operator-schemas.js';

/** `value` parsed with `schema`, or a 400 `invalid_request` naming each bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(toIssues(parsed.error));
  return parsed.data;
}

/** The query string (the last value of a repeated parameter), parsed with `schema`. */
export function parseQuery<S extends z.ZodType>(schema: S, c: Context<AppEnv>): z.output<S> {
  return parseWith(schema, c.req.query());
}

/** The JSON body, parsed with `schema` (400 `invalid_json` when it is not JSON). */
export async function parseBody<S extends z.ZodType>(
  schema: S,
  c: Context<AppEnv>,
): Promise<z.output<S>> {
  return parseWith(schema, await readJson(c));
}

/** A time the schema accepted (ms or ISO 8601) as ms; undefined when absent. */
export function msOf(value: string | number | undefined): number | undefined {
  return value === undefined ? undefined : (timeToMs(value) ?? undefined);
}

/** A whole number the schema accepted as text, or `fallback` when absent. */
export function countOf(value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : Number(value);
}
