/** The dashboard sub-app and what a mount needs to give it. */

export { createDashboard, type DashboardOptions, mountDashboard } from './dashboard.js';
export type { DashboardQueue, ListPage, RunNowOutcome } from './dashboard-queue.js';
export { type Role, SESSION_COOKIE, SESSION_TTL_MS, type TokenLists } from './session.js';
export {
  type DashboardSetup,
  DashboardUnavailable,
  NO_TOKEN_MESSAGE,
  type ResolveDashboard,
} from './setup.js';
