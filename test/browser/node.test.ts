/**
 * The dashboard in headless Chromium on `forklift dashboard` on Node, spawned from source. The tests themselves are in
 * `support/dashboard-suite.ts`, shared with the other mount.
 */
import { describeDashboard } from './support/dashboard-suite.js';

describeDashboard('node');
