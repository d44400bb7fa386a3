/**
 * Bearer-token authentication: `Authorization: Bearer <token>` or the `_token` query parameter.
 *
 * Tokens are compared in constant time: each presented token and each configured token is
 * hashed with SHA-256 (so lengths never leak) and every configured token is compared with
 * `timingSafeEqual`, without stopping at the first match.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Access } from './commands.js';

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * The token a request presents: the `Authorization: Bearer` header wins over `_token`.
 * Returns `undefined` when neither is present.
 */
export function presentedToken(
  authorization: string | undefined,
  queryToken: string | undefined,
): string | undefined {
  if (authorization !== undefined) {
    const match = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  return queryToken === '' ? undefined : queryToken;
}

/** Resolves a presented token to its access level, or `null` if it is unknown. */
export type Authenticator = (token: string | undefined) => Access | null;

/**
 * @example
 * const auth = createAuthenticator(['secret'], ['reader']);
 * auth('secret'); // 'full'
 * auth('nope'); // null
 */
export function createAuthenticator(
  tokens: readonly string[],
  readonlyTokens: readonly string[],
): Authenticator {
  const known = [
    ...tokens.map((t) => ({ hash: digest(t), access: 'full' as const })),
    ...readonlyTokens.map((t) => ({ hash: digest(t), access: 'readonly' as const })),
  ];
  return (token) => {
    if (token === undefined) return null;
    const hash = digest(token);
    let access: Access | null = null;
    for (const entry of known) {
      if (timingSafeEqual(hash, entry.hash) && access === null) access = entry.access;
    }
    return access;
  };
}
