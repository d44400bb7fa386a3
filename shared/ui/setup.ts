/**
 * What a mount gives the dashboard for each request (`resolve(c)`): the tokens by role, the
 * queue's name, and the queue itself. The edge reads them from the Worker's bindings, the Node
 * command from its environment.
 */
import type { Context, Env } from 'hono';
import type { DashboardQueue } from './dashboard-queue.js';
import type { TokenLists } from './session.js';

/** The dashboard's configuration for one request. */
export interface DashboardSetup {
  /** Tokens by role; an empty `full` list makes every page answer 503. */
  tokens: TokenLists;
  /** The queue's name, shown in the header. */
  queueName: string;
  /**
   * The queue. Called only for a signed-in visitor, so a mount may throw `DashboardUnavailable`
   * naming a bad setting here without telling strangers about its configuration.
   */
  queue(): DashboardQueue;
}

/** Gives the dashboard its setup for a request. */
export type ResolveDashboard<E extends Env> = (c: Context<E>) => DashboardSetup;

/** The dashboard cannot serve: a setting is missing or wrong. Answered 503, message shown. */
export class DashboardUnavailable extends Error {
  override name = 'DashboardUnavailable';
}

/** The message of a dashboard that has no full-access token. */
export const NO_TOKEN_MESSAGE =
  'FORKLIFT_API_TOKENS lists no token: the dashboard refuses to serve without authentication. ' +
  'Set it (comma-separated tokens); FORKLIFT_API_READONLY_TOKENS adds tokens that can only look.';
