/** `GET <base>/assets/app.css` and `app.js`: public (the login page needs them), cached 5 min. */
import type { Env, Hono } from 'hono';
import { APP_CSS } from '../assets/app-css.js';
import { APP_JS } from '../assets/app-js.js';

/** Registers the stylesheet and the script. */
export function assetRoutes<E extends Env>(app: Hono<E>): void {
  const cache = { 'Cache-Control': 'public, max-age=300' };
  app.get('/assets/app.css', (c) =>
    c.body(APP_CSS, 200, { ...cache, 'Content-Type': 'text/css; charset=utf-8' }),
  );
  app.get('/assets/app.js', (c) =>
    c.body(APP_JS, 200, { ...cache, 'Content-Type': 'text/javascript; charset=utf-8' }),
  );
}
