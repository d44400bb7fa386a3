/**
 * Sessions and cross-site checks of the dashboard.
 *
 * A session is a cookie, `forklift_session=<role>.<expires>.<mac>`, set after the login form has
 * presented a configured token: `role` is `full` (a token of FORKLIFT_API_TOKENS) or `readonly` (one
 * of FORKLIFT_API_READONLY_TOKENS), `expires` is a time in ms (12 h after login), and `mac` is
 * HMAC-SHA256 over both, keyed by the SHA-256 digest of the token itself. Nothing is stored on
 * the server, so both mounts (a Worker isolate, a Node process) verify any session the same way;
 * a verifier tries every token of the claimed role and compares every MAC in full, without an
 * early exit, so the time taken shows neither which token nor how much of a MAC matched.
 * Removing a token from the configuration ends every session made with it (its key is gone); a
 * role cannot be changed without the key. The token never appears in a cookie or a URL.
 *
 * The cookie is `HttpOnly; Secure; SameSite=Strict; Path=<base>`: scripts cannot read it, it is
 * never sent in clear (browsers treat http://localhost as secure), and no other site's page can
 * make the browser send it. As a second guard, every POST (login, logout and each action) must
 * come from the dashboard's own pages: its `Origin` equals the request's origin, or the browser
 * says `Sec-Fetch-Site: same-origin`. Anything else is refused with 403 before it is read.
 */

import { type ApiRole, sameBytes, tokenDigests, tokenIndex } from '../api-tokens.js';

/** Who a session acts as: `full` may act, `readonly` only sees (the roles of the /v1 API). */
export type Role = ApiRole;

/** A verified session. */
export interface Session {
  role: Role;
  /** When it ends (ms since the epoch). */
  expiresAt: number;
}

/** The tokens a dashboard accepts, by role. */
export interface TokenLists {
  full: readonly string[];
  read: readonly string[];
}

/** Name of the session cookie. */
export const SESSION_COOKIE = 'forklift_session';

/** How long a session lasts. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

const encoder = new TextEncoder();
const PURPOSE = 'forklift-dashboard-session-v1';

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/** An HMAC key (named through `crypto` so every runtime's typings agree). */
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** Per token list: each token's SHA-256 digest and its HMAC key, computed once per list. */
interface TokenKeys {
  digests: Uint8Array<ArrayBuffer>[];
  keys: HmacKey[];
}

const keysByList = new WeakMap<readonly string[], Promise<TokenKeys>>();

function keysOf(tokens: readonly string[]): Promise<TokenKeys> {
  let keys = keysByList.get(tokens);
  if (!keys) {
    keys = (async () => {
      const digests = await tokenDigests(tokens);
      const hmacKeys = await Promise.all(
        digests.map((digest) =>
          crypto.subtle.importKey('raw', digest, { name: 'HMAC', hash: 'SHA-256' }, false, [
            'sign',
          ]),
        ),
      );
      return { digests, keys: hmacKeys };
    })();
    keysByList.set(tokens, keys);
  }
  return keys;
}

async function mac(key: HmacKey, role: Role, expiresAt: number): Promise<Uint8Array> {
  const data = encoder.encode(`${PURPOSE}|${role}|${expiresAt}`);
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, data));
}

/**
 * Checks a token typed into the login form and, when it is configured, returns the cookie value
 * of a new session for its role (full tokens are looked up first).
 *
 * @example
 * const value = await signIn(form.token, { full: ['t1'], read: [] });
 * if (value) setCookie(c, SESSION_COOKIE, value.cookie, ...);
 */
export async function signIn(
  presented: string,
  tokens: TokenLists,
  now = Date.now(),
): Promise<{ cookie: string; session: Session } | null> {
  const [full, read] = await Promise.all([
    tokenIndex(presented, tokens.full),
    tokenIndex(presented, tokens.read),
  ]);
  const role: Role | null = full >= 0 ? 'full' : read >= 0 ? 'readonly' : null;
  if (role === null) return null;
  const list = role === 'full' ? tokens.full : tokens.read;
  const key = (await keysOf(list)).keys[role === 'full' ? full : read];
  if (!key) return null;
  const expiresAt = now + SESSION_TTL_MS;
  const signature = await mac(key, role, expiresAt);
  return { cookie: `${role}.${expiresAt}.${base64url(signature)}`, session: { role, expiresAt } };
}

/**
 * The session a cookie value proves, or null when it is missing, malformed, expired, or signed
 * by no token configured for its role.
 */
export async function verifySession(
  cookie: string | undefined,
  tokens: TokenLists,
  now = Date.now(),
): Promise<Session | null> {
  const match = /^(full|readonly)\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(cookie ?? '');
  if (!match) return null;
  const role = match[1] as Role;
  const expiresAt = Number(match[2]);
  const presented = encoder.encode(match[3]);
  if (!(expiresAt > now) || expiresAt > now + SESSION_TTL_MS) return null;
  const { keys } = await keysOf(role === 'full' ? tokens.full : tokens.read);
  let valid = false;
  for (const key of keys) {
    const expected = encoder.encode(base64url(await mac(key, role, expiresAt)));
    valid = sameBytes(presented, expected) || valid;
  }
  return valid ? { role, expiresAt } : null;
}

/**
 * True when a state-changing request comes from the dashboard's own pages: its `Origin` is the
 * request's origin, or the browser marks it `Sec-Fetch-Site: same-origin`.
 */
export function isSameOrigin(request: Request): boolean {
  const origin = request.headers.get('origin');
  if (origin !== null && origin === new URL(request.url).origin) return true;
  return request.headers.get('sec-fetch-site') === 'same-origin';
}
