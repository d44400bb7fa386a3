/**
 * Headless Chromium for the dashboard's browser tests: Debian's `chromium` package
 * (`/usr/bin/chromium`, or `FORKLIFT_CHROMIUM`), driven over CDP by playwright-core, which
 * never downloads a browser. `.ci/run` installs the package when it is missing.
 *
 * Also: the viewports the screenshots use, a screenshot writer (under the git-ignored
 * `test/browser/screenshots/`), logging in through the form, and reading the `data-testid`
 * elements of the contract in `docs/dashboard.md`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Locator,
  type Page,
} from 'playwright-core';

/** The Chromium executable the tests drive. */
export const CHROMIUM = process.env.FORKLIFT_CHROMIUM ?? '/usr/bin/chromium';

/** Where the screenshots go (git-ignored). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../screenshots/', import.meta.url));

/** Launches headless Chromium (as root: without its sandbox). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium) or set FORKLIFT_CHROMIUM`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
  });
}

/** The screen sizes the screenshots are taken at. */
export const VIEWPORTS = {
  laptop: { viewport: { width: 1366, height: 860 }, deviceScaleFactor: 1 },
  phone: {
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  },
} as const satisfies Record<string, BrowserContextOptions>;

/** A named viewport. */
export type ViewportName = keyof typeof VIEWPORTS;

/** Opens a fresh context (no cookies) at `viewport`, light or dark. */
export function newContext(
  browser: Browser,
  viewport: ViewportName = 'laptop',
  colorScheme: 'light' | 'dark' = 'light',
): Promise<BrowserContext> {
  return browser.newContext({ ...VIEWPORTS[viewport], colorScheme, locale: 'en-GB' });
}

/**
 * Saves a full-page screenshot as `<mount>-<page>-<viewport>-<scheme>.png` in
 * `SCREENSHOT_DIR`; returns its path.
 */
export async function screenshot(
  page: Page,
  name: { mount: string; page: string; viewport: ViewportName; scheme?: 'light' | 'dark' },
): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = `${SCREENSHOT_DIR}${name.mount}-${name.page}-${name.viewport}-${name.scheme ?? 'light'}.png`;
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}

/** The element with `data-testid="id"` (scoped to `within` when given). */
export function byTestId(within: Page | Locator, id: string): Locator {
  return within.locator(`[data-testid="${id}"]`);
}

/** The text of an element, trimmed. */
export async function textOf(element: Locator): Promise<string> {
  return ((await element.textContent()) ?? '').trim();
}

/** The integer an element shows (a count of the overview), or NaN when absent. */
export async function countOf(page: Page, id: string): Promise<number> {
  const element = byTestId(page, id).first();
  if ((await element.count()) === 0) return Number.NaN;
  return Number.parseInt(await textOf(element), 10);
}

const isOverview = (url: URL) => url.pathname === '/ui' || url.pathname === '/ui/';

/**
 * Logs in through the form with `token`; resolves once the overview has loaded, and throws
 * when it answered anything but 200.
 */
export async function logIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/ui/login`);
  await byTestId(page, 'login-token').fill(token);
  const [overview] = await Promise.all([
    page.waitForResponse(
      (r) =>
        r.request().method() === 'GET' &&
        r.request().isNavigationRequest() &&
        isOverview(new URL(r.url())),
      { timeout: 30_000 },
    ),
    byTestId(page, 'login-submit').click(),
  ]);
  await page.waitForURL(isOverview, { timeout: 30_000 });
  if (overview.status() !== 200) {
    throw new Error(`the overview answered ${overview.status()} after logging in`);
  }
}

/** The `Cookie` header a context would send to `baseUrl` (for hand-made requests). */
export async function cookieHeader(context: BrowserContext, baseUrl: string): Promise<string> {
  const cookies = await context.cookies(`${baseUrl}/ui/`);
  return cookies.map((c) => `${c.name}=${c.value}`).join('; ');
}
