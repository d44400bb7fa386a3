/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/**
 * `GET/POST <base>/login` and `POST <base>/logout`: the login form trades a configured token for
 * a session cookie (see session.ts); logging out clears it.
 */
import type { Env } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { type Guard, readForm, safeBack, setupOf } from '../guard.js';
import { isSameOrigin, SESSION_COOKIE, signIn } from '../session.js';
import { LoginPage } from '../views/login.js';

/** Registers the login and logout routes. */
export function loginRoutes<E extends Env>(guard: Guard<E>): void {
  const { app, base } = guard;
  const cookieOptions = { path: base, httpOnly: true, secure: true, sameSite: 'Strict' } as const;

  app.get('/login', async (c) => {
    const setup = setupOf(c, guard.resolve);
    const next = safeBack(base, c.req.query('next'), base);
    if (await guard.session(c, setup)) return c.redirect(next, 303);
    return c.html(<LoginPage base={base} next={next} error={null} />);
  });

  app.post('/login', async (c) => {
    const setup = setupOf(c, guard.resolve);
    if (!isSameOrigin(c.req.raw)) return guard.refuseCrossSite(c);
    const form = await readForm(c);
    const token = form?.('token')[0]?.trim() ?? '';
    const next = safeBack(base, form?.('next')[0], base);
    const signed = token === '' ? null : await signIn(token, setup.tokens);
    if (!signed) {
      return c.html(
        <LoginPage base={base} next={next} error="That token is not accepted here." />,
        401,
      );
    }
    setCookie(c, SESSION_COOKIE, signed.cookie, {
      ...cookieOptions,
      expires: new Date(signed.session.expiresAt),
    });
    return c.redirect(next, 303);
  });

  app.post('/logout', async (c) => {
    setupOf(c, guard.resolve);
    if (!isSameOrigin(c.req.raw)) return guard.refuseCrossSite(c);
    deleteCookie(c, SESSION_COOKIE, cookieOptions);
    return c.redirect(`${base}/login`, 303);
  });
}
