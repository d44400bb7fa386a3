/**
 * Who may call `/v1/*`: a request must carry `Authorization: Bearer <token>` with one of the
 * tokens in `FORKLIFT_API_TOKENS` (role `full`), or of `FORKLIFT_API_READONLY_TOKENS` (role
 * `readonly`: GET routes only; any other method answers 403 `forbidden` before Redis is touched).
 * The check runs before the body is read. The role is on the context as `c.var.role`.
 *
 * The comparison takes the same time whatever the token: both sides are hashed with SHA-256 and
 * every configured digest is compared byte by byte in full, so neither the length nor the first
 * differing byte of a guess shows in the response time.
 *
 * Order of answers: no token configured → 503 `not_configured` (the API never runs open);
 * bad or missing bearer token → 401 `unauthorized`; any other setting missing or invalid → 503
 * `not_configured` naming it (only authenticated callers learn about the configuration).
 */
import { createMiddleware } from 'hono/factory';
import { type ApiRole, tokenMatches } from '../shared/api-tokens.js';
import { configFor } from './config.js';
import type { AppEnv } from './context.js';
import { ApiError } from './errors.js';
import { queueFor } from './store.js';

export type { ApiRole } from '../shared/api-tokens.js';
export { tokenMatches };

/** Methods a read-only token may call. */
const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * The role of a presented token: 'full' when `tokens.apiTokens` lists it, 'readonly' when
 * `tokens.readOnlyApiTokens` does, else null. Both lists are always compared in full, in time
 * independent of the token (see `tokenMatches`). The dashboard can check a token with it.
 *
 * @example
 * const role = await tokenRole(presented, config); // EdgeConfig has both lists
 */
export async function tokenRole(
  presented: string,
  tokens: { apiTokens: readonly string[]; readOnlyApiTokens: readonly string[] },
): Promise<ApiRole | null> {
  const [full, readOnly] = await Promise.all([
    tokenMatches(presented, tokens.apiTokens),
    tokenMatches(presented, tokens.readOnlyApiTokens),
  ]);
  if (full) return 'full';
  return readOnly ? 'readonly' : null;
}

/**
 * The token of an `Authorization: Bearer <token>` header, or null. Spaces and tabs around the
 * value are not part of it (RFC 9110 §5.5); workerd passes a trailing tab on.
 */
export function bearerToken(header: string | undefined): string | null {
  const match = /^[ \t]*Bearer +(\S+)[ \t]*$/i.exec(header ?? '');
  return match?.[1] ?? null;
}

const unauthorized = () =>
  new ApiError(401, 'unauthorized', 'Send Authorization: Bearer <token> with a valid API token', {
    headers: { 'WWW-Authenticate': 'Bearer realm="forklift"' },
  });

/**
 * Authenticates the caller (refusing a read-only token any method but GET and HEAD), then puts
 * the config, the queue client and the caller's role on the context.
 *
 * @example
 * app.use('/v1/*', authenticate);
 */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const result = configFor(c.env);
  const tokens = result.ok ? result.config.apiTokens : result.apiTokens;
  if (tokens.length === 0) {
    const problem =
      (result.ok ? undefined : result.problems.find((p) => p.startsWith('FORKLIFT_API_TOKENS '))) ??
      'FORKLIFT_API_TOKENS lists no token';
    throw new ApiError(
      503,
      'not_configured',
      `${problem}: the API refuses to serve without authentication. Set it with ` +
        '`wrangler secret put FORKLIFT_API_TOKENS` (comma-separated tokens).',
      { headers: { 'Retry-After': '60' } },
    );
  }
  const presented = bearerToken(c.req.header('authorization'));
  const role =
    presented === null
      ? null
      : await tokenRole(presented, {
          apiTokens: tokens,
          readOnlyApiTokens: result.ok ? result.config.readOnlyApiTokens : result.readOnlyApiTokens,
        });
  if (role === null) throw unauthorized();
  if (role === 'readonly' && !READ_METHODS.has(c.req.method)) {
    throw new ApiError(
      403,
      'forbidden',
      `A read-only token may only read (GET); ${c.req.method} ${c.req.path} needs a token of FORKLIFT_API_TOKENS`,
    );
  }
  if (!result.ok) {
    throw new ApiError(503, 'not_configured', `Not configured: ${result.problems.join('; ')}`, {
      details: { problems: result.problems },
    });
  }
  c.set('config', result.config);
  c.set('queue', queueFor(result.config));
  c.set('role', role);
  await next();
});
