/**
 * Runs engine scripts by EVALSHA, falling back to EVAL when Redis answers NOSCRIPT (after a
 * restart or SCRIPT FLUSH), through whichever client the runtime has: ioredis in the worker
 * host, @upstash/redis on the edge. Both are reduced to the two calls of `ScriptTransport`.
 *
 * The SHA-1 of each script is computed once with Web Crypto, which Workers and Node share.
 */
import { memoizeByObject } from './memo.js';
import type { LuaScript } from './scripts/define-script.js';

/** The two Redis calls the engine needs from a client. Replies come back undecoded. */
export interface ScriptTransport {
  evalsha(sha: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  eval(source: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
}

const hex = (bytes: ArrayBuffer): string =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

/** The SHA-1 (hex) that Redis uses to name `script` (computed once per script). */
export const scriptSha: (script: LuaScript) => Promise<string> = memoizeByObject((script) =>
  crypto.subtle.digest('SHA-1', new TextEncoder().encode(script.source)).then(hex),
);

/** True when `error` is Redis's NOSCRIPT reply (possibly wrapped by a client). */
export function isNoScriptError(error: unknown): boolean {
  return error instanceof Error && /noscript/i.test(error.message);
}

/** Runs `script` with EVALSHA, and with EVAL when Redis does not know it yet. */
export async function runScript(
  transport: ScriptTransport,
  script: LuaScript,
  keys: readonly string[],
  args: readonly string[],
): Promise<unknown> {
  const sha = await scriptSha(script);
  try {
    return await transport.evalsha(sha, keys, args);
  } catch (error) {
    if (!isNoScriptError(error)) throw error;
    return transport.eval(script.source, keys, args);
  }
}
