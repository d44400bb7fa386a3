/**
 * What a request handler gets besides the request: the bindings (`c.env`) and, once
 * `authenticate` has run, the validated config, the queue client and the caller's role (`c.var`).
 */
import type { QueueClient } from '../shared/index.js';
import type { ApiRole } from './auth.js';
import type { EdgeConfig } from './config.js';
import type { EdgeEnv } from './env.js';

/** The Hono environment of the edge app. */
export interface AppEnv {
  Bindings: EdgeEnv;
  Variables: {
    /** Set by `authenticate` on every `/v1/*` request. */
    config: EdgeConfig;
    /** Set by `authenticate` on every `/v1/*` request. */
    queue: QueueClient;
    /**
     * The caller's role, set by `authenticate` on every `/v1/*` request: 'full', or 'readonly'
     * (a token of FORKLIFT_API_READONLY_TOKENS: GET routes only).
     */
    role: ApiRole;
  };
}
