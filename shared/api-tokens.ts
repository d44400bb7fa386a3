/**
 * API tokens, as the edge's `/v1` routes and the dashboard check them: SHA-256 digests compared
 * byte by byte in full, so neither the length of a guess nor its first wrong byte shows in the
 * time taken. Web Crypto only, so Workers and Node share it.
 */
import { memoizeByObject } from './memo.js';

/** What a caller may do: everything (FORKLIFT_API_TOKENS), or read only (FORKLIFT_API_READONLY_TOKENS). */
export type ApiRole = 'full' | 'readonly';

const encoder = new TextEncoder();

/** The SHA-256 digest of `text` (UTF-8). */
export async function sha256(text: string): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/** Byte arrays compared without an early exit (different lengths never match). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** The digests of a token list, computed once per list. */
export const tokenDigests: (tokens: readonly string[]) => Promise<Uint8Array<ArrayBuffer>[]> =
  memoizeByObject((tokens: readonly string[]) => Promise.all(tokens.map(sha256)));

/**
 * The index of `presented` in `tokens`, or -1, in time independent of where (or whether) it
 * matches: every digest is compared in full.
 */
export async function tokenIndex(presented: string, tokens: readonly string[]): Promise<number> {
  const [digest, known] = await Promise.all([sha256(presented), tokenDigests(tokens)]);
  let found = -1;
  known.forEach((candidate, i) => {
    if (sameBytes(digest, candidate)) found = i;
  });
  return found;
}

/** True when `presented` is one of `tokens`, in time independent of both. */
export async function tokenMatches(presented: string, tokens: readonly string[]): Promise<boolean> {
  return (await tokenIndex(presented, tokens)) >= 0;
}
