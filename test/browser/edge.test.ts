/**
 * The dashboard in headless Chromium on the edge Worker in workerd (Miniflare), behind the REST gateway with the forklift preset. The tests themselves are in
 * `support/dashboard-suite.ts`, shared with the other mount.
 */
import { describeDashboard } from './support/dashboard-suite.js';

describeDashboard('edge');
