/**
 * The one-line message shown after an action ("Retried 3 dead tasks"): carried across the 303
 * redirect in a short-lived cookie scoped like the session, and shown once by the next page.
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

/** A message for the next page. */
export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

const FLASH_COOKIE = 'forklift_flash';

/** Sets the flash the next page shows. */
export function setFlash(c: Context, base: string, flash: Flash): void {
  setCookie(c, FLASH_COOKIE, encodeURIComponent(JSON.stringify(flash)), {
    path: base,
    httpOnly: true,
    secure: true,
    sameSite: 'Strict',
    maxAge: 60,
  });
}

/** Reads the pending flash, if any, and clears it. */
export function takeFlash(c: Context, base: string): Flash | null {
  const raw = getCookie(c, FLASH_COOKIE);
  if (raw === undefined) return null;
  deleteCookie(c, FLASH_COOKIE, { path: base, secure: true, httpOnly: true, sameSite: 'Strict' });
  try {
    const value = JSON.parse(decodeURIComponent(raw)) as Partial<Flash>;
    if ((value.kind === 'ok' || value.kind === 'error') && typeof value.text === 'string') {
      return { kind: value.kind, text: value.text.slice(0, 500) };
    }
  } catch {
    // A cookie this dashboard did not write: ignore it.
  }
  return null;
}
