/**
 * The dashboard's mount at the edge (`/ui`): the tokens (FORKLIFT_API_TOKENS for full sessions,
 * FORKLIFT_API_READONLY_TOKENS for read-only ones), the queue name and the queue client come
 * from the Worker's bindings through the same validated config as `/v1` (`configFor`,
 * `queueFor`). With no FORKLIFT_API_TOKENS every page answers 503, as `/v1` does; any other bad
 * setting is named to signed-in visitors only. The session itself is the dashboard's
 * (shared/ui/session.ts), the same on Node.
 */
import type { Context } from 'hono';
import { memoizeByObject } from '../shared/memo.js';
import { createDashboard, type DashboardSetup, DashboardUnavailable } from '../shared/ui/index.js';
import { CONFIG_DEFAULTS, configFor } from './config.js';
import type { AppEnv } from './context.js';
import { queueFor } from './store.js';

/** The dashboard setup of an isolate's bindings, made once per bindings object. */
const setupFor = memoizeByObject((env: AppEnv['Bindings']): DashboardSetup => {
  const result = configFor(env);
  const tokens = result.ok
    ? { full: result.config.apiTokens, read: result.config.readOnlyApiTokens }
    : { full: result.apiTokens, read: result.readOnlyApiTokens };
  return {
    tokens,
    queueName: result.ok ? result.config.queue : CONFIG_DEFAULTS.queue,
    queue: () => {
      if (!result.ok) {
        throw new DashboardUnavailable(`Not configured: ${result.problems.join('; ')}`);
      }
      return queueFor(result.config);
    },
  };
});

/** The dashboard sub-app of the edge; `app.route('/ui', edgeDashboard())`. */
export function edgeDashboard() {
  return createDashboard<AppEnv>((c: Context<AppEnv>) => setupFor(c.env), { base: '/ui' });
}
