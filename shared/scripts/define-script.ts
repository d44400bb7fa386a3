/**
 * A Lua script as a TypeScript string constant: a Worker bundle has no filesystem, so the
 * source travels inside the code, and the same string runs from ioredis and @upstash/redis.
 */

/** One engine script. */
export interface LuaScript {
  /** Short name, used in errors and logs. */
  readonly name: string;
  /** The full Lua source sent to Redis (header comment, shared prelude, body). */
  readonly source: string;
  /**
   * True when the script is safe to run as EVAL_RO: it changes nothing, or only tidies what a
   * read-only run may skip (list-dead drops stale ids with pcall). The gateway serves such scripts
   * to read-only tokens.
   */
  readonly readOnly: boolean;
}

/**
 * Builds a script from its header comment (KEYS, ARGV, returns), the pieces of shared Lua it
 * needs, and its body.
 */
export function defineScript(spec: {
  name: string;
  header: string;
  includes?: readonly string[];
  body: string;
  readOnly?: boolean;
}): LuaScript {
  const header = spec.header
    .trim()
    .split('\n')
    .map((line) => `-- ${line}`.trimEnd())
    .join('\n');
  const source = [header, ...(spec.includes ?? []), spec.body.trim()].join('\n\n');
  return Object.freeze({
    name: spec.name,
    source: `${source}\n`,
    readOnly: spec.readOnly ?? false,
  });
}
