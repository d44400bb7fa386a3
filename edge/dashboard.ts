/**
 * The dashboard's mount at the edge (`/ui`): the tokens, queue name and queue client come from
 * the Worker's bindings through the same validated config as `/v1` (`configFor`, `queueFor`).
 * With no FORKLIFT_API_TOKENS every page answers 503, as `/v1` does; any other bad setting is
 * named to signed-in visitors only.
 */
import type { Context } from 'hono';
import { memoizeByObject } from '../shared/memo.js';
import { createDashboard, type DashboardSetup, DashboardUnavailable } from '../shared/ui/index.js';
import { configFor } from './config.js';
import type { AppEnv } from './context.js';
import { queueFor } from './store.js';

/** Comma-separated tokens as a list (empty entries dropped). */
function tokenList(value: unknown): readonly string[] {
  if (typeof value !== 'string') return [];
  return value
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '');
}

/** The dashboard setup of an isolate's bindings, made once per bindings object. */
const setupFor = memoizeByObject((env: AppEnv['Bindings']): DashboardSetup => {
  const result = configFor(env);
  const full = result.ok ? result.config.apiTokens : result.apiTokens;
  const read = tokenList((env as unknown as Record<string, unknown>).FORKLIFT_API_READONLY_TOKENS);
  return {
    tokens: { full, read },
    queueName: result.ok ? result.config.queue : 'default',
    queue: () => {
      if (!result.ok)
        throw new DashboardUnavailable(`Not configured: ${result.problems.join('; ')}`);
      return queueFor(result.config);
    },
  };
});

/** The dashboard sub-app of the edge; `app.route('/ui', edgeDashboard())`. */
export function edgeDashboard() {
  return createDashboard<AppEnv>((c: Context<AppEnv>) => setupFor(c.env), { base: '/ui' });
}
