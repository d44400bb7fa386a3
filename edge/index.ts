/**
 * The Worker entry point (wrangler.toml `main`): the edge app, whose `fetch` serves every request.
 * Configuration comes from the bindings, read on the first request of each isolate.
 */
import { createApp } from './app.js';

export default createApp();
