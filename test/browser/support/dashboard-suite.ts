/**
 * The dashboard's browser tests, one body for both mounts: a real headless Chromium (Debian's
 * package, driven by playwright-core) against the edge Worker in workerd behind the REST
 * gateway, or `forklift dashboard` on Node. Real Redis, a real worker host; nothing is mocked.
 *
 * The tests of one mount run in order and share its stack: no page or action without a
 * session; logging in; the overview's counts following a worker host through the live refresh;
 * the hosts page; finding a task by its idempotency key; dead letters retried (one, and all
 * matching after a confirmation) and deleted; delayed tasks run now or canceled; a read-only
 * session that sees everything and can change nothing; a cross-site POST refused; a stopped
 * host and the overview's warning; logging out. Screenshots of every page (laptop and phone,
 * light and dark) go to test/browser/screenshots/.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TaskState } from '../../../shared/task-state.js';
import { waitFor } from '../../support/redis.js';
import {
  byTestId,
  cookieHeader,
  countOf,
  launchChromium,
  logIn,
  newContext,
  screenshot,
  textOf,
  type ViewportName,
} from './browser.js';
import { type DashboardStack, type Mount, startDashboardStack } from './stack.js';

/** Every action control of the contract: none may show in a read-only session. */
const ACTION_TEST_IDS = [
  'cancel-button',
  'run-now-button',
  'retry-button',
  'delete-button',
  'retry-selected',
  'delete-selected',
  'retry-all-matching',
  'delete-all-matching',
  'confirm-button',
];

/**
 * A text of a list row narrower and taller than this (CSS px) counts as squeezed: a column a
 * few characters wide that wraps an id or an error line after line.
 */
const SQUEEZED = { narrow: 90, tall: 120 };

/** How long the live refresh (every 5 s) may take to show a change on a busy machine. */
const LIVE_TIMEOUT_MS = 45_000;

/**
 * Declares the dashboard's browser tests for one mount. `edge.test.ts` and `node.test.ts` call
 * it, one mount per file, so the two run in parallel and each file stays well under two minutes
 * on a loaded two-core machine.
 */
export function describeDashboard(mount: Mount): void {
  describe(`the dashboard on the ${mount} mount`, () => {
    let stack: DashboardStack;
    let browser: Browser;
    /** The full-token session most tests use. */
    let context: BrowserContext;
    let page: Page;
    const contexts: BrowserContext[] = [];

    /** The square task enqueued with an idempotency key (found by search later). */
    const orderKey = `order-${mount}-42`;
    let orderId = '';
    /** A dead task and a delayed task left in place for the read-only views and the screenshots. */
    let kept: Promise<{ deadId: string; delayedId: string }> | undefined;

    const base = () => stack.baseUrl;
    const url = (path: string) => `${stack.baseUrl}${path}`;

    async function open(viewport: ViewportName = 'laptop', scheme: 'light' | 'dark' = 'light') {
      const ctx = await newContext(browser, viewport, scheme);
      ctx.setDefaultTimeout(30_000);
      ctx.setDefaultNavigationTimeout(30_000);
      contexts.push(ctx);
      return ctx;
    }

    /** Opens `path` in `p` and checks the page answered 200. */
    async function visit(p: Page, path: string): Promise<void> {
      const response = await p.goto(url(path));
      expect(response?.status(), `GET ${path} (${mount} mount)`).toBe(200);
    }

    /** The task's state as Redis has it. */
    async function stateOf(id: string): Promise<TaskState | null> {
      return (await stack.queue.getTask(id))?.state ?? null;
    }

    /** Waits until Redis has the task in `state`. */
    function untilState(id: string, state: TaskState, timeoutMs = 30_000) {
      return waitFor(async () => (await stateOf(id)) === state, {
        timeoutMs,
        intervalMs: 100,
        what: `task ${id} to be ${state} (${mount} mount)`,
      });
    }

    /** Enqueues a `gate` task whose gate is closed, with one attempt: it goes to dead. */
    async function deadGateTask(gate: string): Promise<string> {
      if (!stack.host) await stack.startHost({ concurrency: 2 });
      const { id } = await stack.producer.enqueue('gate', { open: gate }, { maxAttempts: 1 });
      await untilState(id, 'dead');
      return id;
    }

    /**
     * Clicks an action control and goes through whatever confirmation the page asks for (a
     * `confirm()` dialog or a confirmation page with `confirm-button`); resolves once the flash
     * message of the result shows, with its text.
     */
    async function act(control: Locator): Promise<string> {
      const accept = (dialog: { accept(): Promise<void> }) => void dialog.accept();
      page.on('dialog', accept);
      try {
        await control.click();
        const outcome = page.locator('[data-testid="flash"], [data-testid="confirm-button"]');
        await outcome.first().waitFor({ state: 'visible' });
        const confirm = byTestId(page, 'confirm-button');
        if (await confirm.isVisible()) await confirm.click();
        const flash = byTestId(page, 'flash').first();
        await flash.waitFor({ state: 'visible' });
        return textOf(flash);
      } finally {
        page.off('dialog', accept);
      }
    }

    /** A form POST sent by hand (no browser), with the given session cookie and Origin. */
    function post(
      path: string,
      fields: Record<string, string | string[]>,
      { cookie, origin = base() }: { cookie?: string; origin?: string },
    ) {
      const body = new URLSearchParams();
      for (const [name, value] of Object.entries(fields)) {
        for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
      }
      return fetch(url(path), {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin,
          ...(cookie ? { cookie } : {}),
        },
        body,
      });
    }

    /** Makes sure a dead and a delayed task exist (once per mount). */
    function keptTasks() {
      kept ??= (async () => {
        const deadId = await deadGateTask(join(stack.dir, 'kept-gate-never-opened'));
        const { id: delayedId } = await stack.producer.enqueue(
          'square',
          { x: 7 },
          { delaySeconds: 3600, priority: 'low' },
        );
        return { deadId, delayedId };
      })();
      return kept;
    }

    /**
     * Saves a screenshot of every page at `viewport` in `scheme` (logged in with the full token);
     * returns what looks broken in each page's layout: the page scrolling sideways, or a text of a
     * list row squeezed into a column a few characters wide (see `SQUEEZED`).
     */
    async function capturePages(viewport: ViewportName, scheme: 'light' | 'dark') {
      const { deadId } = await keptTasks();
      const ctx = await open(viewport, scheme);
      const p = await ctx.newPage();
      const problems: string[] = [];
      const shot = async (name: string) => {
        await screenshot(p, { mount, page: name, viewport, scheme });
        const layout = await p.evaluate(
          ({ narrow, tall }) => ({
            overflow: document.documentElement.scrollWidth - window.innerWidth,
            // Text squeezed into a column a few characters wide, wrapping line after line.
            squeezed: [...document.querySelectorAll('[data-testid$="-row"] *')]
              .filter((element) =>
                [...element.childNodes].some(
                  (node) =>
                    node.nodeType === Node.TEXT_NODE && (node.textContent ?? '').trim().length > 6,
                ),
              )
              .map((element) => ({
                text: (element.textContent ?? '').trim(),
                box: element.getBoundingClientRect(),
              }))
              .filter(({ box }) => box.width < narrow && box.height > tall)
              .map(
                ({ text, box }) =>
                  `"${text.slice(0, 24)}" ${Math.round(box.width)}x${Math.round(box.height)} px`,
              ),
          }),
          SQUEEZED,
        );
        if (layout.overflow > 0) {
          problems.push(`${name}: the page scrolls ${layout.overflow} px sideways`);
        }
        if (layout.squeezed.length > 0) {
          problems.push(
            `${name}: ${layout.squeezed.length} text(s) squeezed into a narrow column, e.g. ${layout.squeezed[0]}`,
          );
        }
      };
      await visit(p, '/ui/login');
      await byTestId(p, 'login-token').waitFor();
      await shot('login');
      await logIn(p, base(), stack.fullToken);
      await byTestId(p, 'count-normal').waitFor();
      await shot('overview');
      await visit(p, '/ui/hosts');
      await byTestId(p, 'host-row').first().waitFor();
      await shot('hosts');
      await visit(p, `/ui/tasks?type=square`);
      await byTestId(p, 'task-row').first().waitFor();
      await shot('search');
      await visit(p, `/ui/tasks/${encodeURIComponent(orderId)}`);
      await byTestId(p, 'task-state').waitFor();
      await shot('task');
      await visit(p, `/ui/tasks/${encodeURIComponent(deadId)}`);
      await byTestId(p, 'task-error').waitFor();
      await shot('task-dead');
      await visit(p, '/ui/dead');
      await byTestId(p, 'dead-row').first().waitFor();
      await shot('dead');
      await visit(p, '/ui/waiting/delayed');
      await byTestId(p, 'waiting-row').first().waitFor();
      await shot('waiting-delayed');
      await ctx.close();
      return problems;
    }

    beforeAll(async () => {
      stack = await startDashboardStack(mount);
      browser = await launchChromium();
      context = await open();
      page = await context.newPage();
    }, 120_000);

    afterAll(async () => {
      for (const ctx of contexts) await ctx.close().catch(() => {});
      await browser?.close().catch(() => {});
      await stack?.close();
    }, 60_000);

    test('no page and no action without a session', async () => {
      const { id: delayedId } = await stack.producer.enqueue(
        'square',
        { x: 2 },
        { delaySeconds: 3600 },
      );
      const pages = [
        '/ui',
        '/ui/hosts',
        '/ui/tasks',
        `/ui/tasks?key=${orderKey}`,
        `/ui/tasks/${delayedId}`,
        '/ui/dead',
        '/ui/waiting/high',
        '/ui/waiting/normal',
        '/ui/waiting/low',
        '/ui/waiting/delayed',
      ];
      for (const path of pages) {
        const res = await fetch(url(path), { redirect: 'manual' });
        expect(res.status, `GET ${path}`).toBe(303);
        expect(new URL(res.headers.get('location') ?? '', base()).pathname, `GET ${path}`).toBe(
          '/ui/login',
        );
        await res.arrayBuffer();
      }
      // In the browser too: every page lands on the login form.
      for (const path of ['/ui', '/ui/hosts', '/ui/dead', `/ui/tasks/${delayedId}`]) {
        await page.goto(url(path));
        expect(new URL(page.url()).pathname).toBe('/ui/login');
        await expect(byTestId(page, 'login-token').isVisible()).resolves.toBe(true);
      }
      const actions: [string, Record<string, string | string[]>][] = [
        [`/ui/tasks/${delayedId}/cancel`, {}],
        [`/ui/tasks/${delayedId}/run-now`, {}],
        ['/ui/dead/retry', { ids: [delayedId] }],
        ['/ui/dead/delete', { ids: [delayedId] }],
        ['/ui/dead/retry-matching', { confirm: 'yes' }],
        ['/ui/dead/delete-matching', { confirm: 'yes' }],
      ];
      for (const [path, fields] of actions) {
        const res = await post(path, fields, {});
        expect([401, 403], `POST ${path} without a session`).toContain(res.status);
        await res.arrayBuffer();
      }
      // A made-up session cookie is no session either.
      const forged = await post(`/ui/tasks/${delayedId}/cancel`, {}, { cookie: 'session=forged' });
      expect([401, 403]).toContain(forged.status);
      expect(await stateOf(delayedId)).toBe('delayed');
      await stack.queue.cancel(delayedId);
    });

    test('a wrong token is refused at the login form', async () => {
      await visit(page, '/ui/login');
      await byTestId(page, 'login-token').fill('not-a-token-of-this-dashboard');
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST'),
        byTestId(page, 'login-submit').click(),
      ]);
      expect(response.status()).toBe(401);
      await byTestId(page, 'login-error').waitFor();
      await screenshot(page, { mount, page: 'login-error', viewport: 'laptop' });
      expect(await context.cookies(url('/ui/'))).toEqual([]);
    });

    test('logs in and sees the counts follow a worker host through the live refresh', async () => {
      const N = 6;
      const enqueued = await stack.producer.enqueueMany(
        Array.from({ length: N }, (_, i) => ({
          type: 'square' as const,
          payload: { x: i === 0 ? 12 : i, delayMs: 100 },
          ...(i === 0 ? { idempotencyKey: orderKey } : {}),
        })),
      );
      orderId = enqueued[0]?.id ?? '';

      await logIn(page, base(), stack.fullToken);
      const cookies = await context.cookies(url('/ui/'));
      expect(cookies.length).toBeGreaterThan(0);
      for (const cookie of cookies) {
        expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
      }
      expect(await countOf(page, 'count-normal')).toBe(N);
      expect(await countOf(page, 'count-active')).toBe(0);
      expect(await countOf(page, 'total-enqueued')).toBeGreaterThanOrEqual(N);
      const succeededBefore = await countOf(page, 'total-succeeded');
      expect(succeededBefore).toBe(0);
      await expect(byTestId(page, 'no-host-warning').isVisible()).resolves.toBe(true);
      await screenshot(page, { mount, page: 'overview-waiting', viewport: 'laptop' });

      // A marker on the window proves the page is never reloaded: only the live refresh changes it.
      await page.evaluate(() => {
        (window as unknown as { forkliftMarker: number }).forkliftMarker = 42;
      });
      await stack.startHost({ concurrency: 2 });
      await expect
        .poll(() => countOf(page, 'count-normal'), { timeout: LIVE_TIMEOUT_MS, interval: 250 })
        .toBe(0);
      await expect
        .poll(() => countOf(page, 'total-succeeded'), { timeout: LIVE_TIMEOUT_MS, interval: 250 })
        .toBeGreaterThanOrEqual(N);
      await expect
        .poll(() => countOf(page, 'count-active'), { timeout: LIVE_TIMEOUT_MS, interval: 250 })
        .toBe(0);
      await expect
        .poll(() => byTestId(page, 'no-host-warning').count(), { timeout: LIVE_TIMEOUT_MS })
        .toBe(0);
      expect(
        await page.evaluate(
          () => (window as unknown as { forkliftMarker?: number }).forkliftMarker,
        ),
      ).toBe(42);
      expect(await byTestId(page, 'sparkline').count()).toBeGreaterThan(0);
    }, 120_000);

    test('the hosts page shows the live host with its slots', async () => {
      const host = stack.host;
      expect(host).toBeDefined();
      await byTestId(page, 'nav-hosts').click();
      await page.waitForURL((u) => u.pathname === '/ui/hosts');
      const row = page.locator(`[data-testid="host-row"][data-host-id="${host?.hostId}"]`);
      await row.waitFor();
      expect(await byTestId(page, 'host-row').count()).toBe(1);
      const slots = async (id: string) => Number.parseInt(await textOf(byTestId(row, id)), 10);
      // Idle now: both slots free (the page may have been rendered while a task ended).
      await expect
        .poll(
          async () => {
            await page.reload();
            return [await slots('host-free'), await slots('host-busy')];
          },
          { timeout: 30_000, interval: 500 },
        )
        .toEqual([2, 0]);
      expect(await slots('host-prefetched')).toBe(0);
    }, 90_000);

    test('finds a task by its idempotency key and opens its page', async () => {
      await byTestId(page, 'nav-tasks').click();
      await page.waitForURL((u) => u.pathname === '/ui/tasks');
      await byTestId(page, 'search-key').fill(orderKey);
      await Promise.all([
        page.waitForURL((u) => u.searchParams.get('key') === orderKey),
        byTestId(page, 'search-submit').click(),
      ]);
      const rows = byTestId(page, 'task-row');
      await rows.first().waitFor();
      expect(await rows.count()).toBe(1);
      const row = page.locator(`[data-testid="task-row"][data-task-id="${orderId}"]`);
      await screenshot(page, { mount, page: 'search-key', viewport: 'laptop' });
      await Promise.all([
        page.waitForURL((u) => u.pathname === `/ui/tasks/${orderId}`),
        row.locator('a').first().click(),
      ]);
      expect(await textOf(byTestId(page, 'task-id'))).toBe(orderId);
      expect(await textOf(byTestId(page, 'task-state'))).toBe('succeeded');
      expect(await textOf(byTestId(page, 'task-type'))).toBe('square');
      expect(await textOf(byTestId(page, 'task-result'))).toContain('144');
      expect(await textOf(byTestId(page, 'task-payload'))).toContain('12');
      expect(await textOf(byTestId(page, 'task-attempts'))).toContain('1');
      // Nothing to cancel or run now on a finished task.
      expect(await byTestId(page, 'cancel-button').count()).toBe(0);
      expect(await byTestId(page, 'run-now-button').count()).toBe(0);
    });

    test('a task that failed with no attempts left is dead; retried from the dead page, it succeeds', async () => {
      const gate = join(stack.dir, 'gate-one');
      const id = await deadGateTask(gate);
      await byTestId(page, 'nav-dead').click();
      await page.waitForURL((u) => u.pathname === '/ui/dead');
      const row = page.locator(`[data-testid="dead-row"][data-task-id="${id}"]`);
      await row.waitFor();
      expect(await textOf(row)).toContain('gate closed');

      writeFileSync(gate, 'open');
      await act(byTestId(row, 'retry-button'));
      await untilState(id, 'succeeded');
      await visit(page, `/ui/tasks/${id}`);
      expect(await textOf(byTestId(page, 'task-state'))).toBe('succeeded');
      expect(await textOf(byTestId(page, 'task-result'))).toContain('passed');
    }, 90_000);

    test('dead letters: delete the selected, retry all matching after a confirmation', async () => {
      const gate = join(stack.dir, 'gate-bulk');
      const doomed = await deadGateTask(gate);
      const saved = [await deadGateTask(gate), await deadGateTask(gate)];
      await visit(page, '/ui/dead');
      const rowOf = (id: string) => page.locator(`[data-testid="dead-row"][data-task-id="${id}"]`);
      await rowOf(doomed).waitFor();
      await byTestId(rowOf(doomed), 'dead-select').check();
      await act(byTestId(page, 'delete-selected'));
      await waitFor(async () => (await stateOf(doomed)) === null, {
        what: 'the deleted task gone',
      });
      expect(await rowOf(doomed).count()).toBe(0);

      writeFileSync(gate, 'open');
      await visit(page, '/ui/dead?type=gate');
      await rowOf(saved[0] as string).waitFor();
      await byTestId(page, 'retry-all-matching').click();
      // Without confirm=yes the server answers a confirmation page first.
      await byTestId(page, 'confirm-button').waitFor();
      await screenshot(page, { mount, page: 'dead-confirm', viewport: 'laptop' });
      await Promise.all([
        page.waitForURL((u) => !u.pathname.endsWith('-matching')),
        byTestId(page, 'confirm-button').click(),
      ]);
      await byTestId(page, 'flash').first().waitFor();
      for (const id of saved) await untilState(id, 'succeeded');
    }, 90_000);

    test('delayed tasks: run one now, cancel another', async () => {
      const runNow = await stack.producer.enqueue('square', { x: 5 }, { delaySeconds: 3600 });
      const cancel = await stack.producer.enqueue('square', { x: 6 }, { delaySeconds: 3600 });
      expect(await byTestId(page, 'nav-waiting').count()).toBe(1);
      await visit(page, '/ui/waiting/delayed');
      const rowOf = (id: string) =>
        page.locator(`[data-testid="waiting-row"][data-task-id="${id}"]`);
      await rowOf(runNow.id).waitFor();
      await act(byTestId(rowOf(runNow.id), 'run-now-button'));
      await untilState(runNow.id, 'succeeded');
      await visit(page, '/ui/waiting/delayed');
      await act(byTestId(rowOf(cancel.id), 'cancel-button'));
      await untilState(cancel.id, 'canceled');
      expect(await rowOf(cancel.id).count()).toBe(0);
    }, 90_000);

    test('with the host stopped, the hosts page empties and the overview warns until one starts', async () => {
      await stack.stopHost();
      await visit(page, '/ui/hosts');
      expect(await byTestId(page, 'host-row').count()).toBe(0);
      const { id } = await stack.producer.enqueue('square', { x: 9 }, { priority: 'high' });
      await visit(page, '/ui');
      expect(await countOf(page, 'count-high')).toBe(1);
      await byTestId(page, 'no-host-warning').waitFor();
      const host = await stack.startHost({ concurrency: 2 });
      await expect
        .poll(() => byTestId(page, 'no-host-warning').count(), { timeout: LIVE_TIMEOUT_MS })
        .toBe(0);
      await expect
        .poll(() => countOf(page, 'count-high'), { timeout: LIVE_TIMEOUT_MS, interval: 250 })
        .toBe(0);
      await untilState(id, 'succeeded');
      await visit(page, '/ui/hosts');
      await page.locator(`[data-testid="host-row"][data-host-id="${host.hostId}"]`).waitFor();
    }, 120_000);

    test('every page on a laptop, light and dark: screenshots, a clean layout', async () => {
      expect(await capturePages('laptop', 'light')).toEqual([]);
      expect(await capturePages('laptop', 'dark')).toEqual([]);
    }, 120_000);

    test('every page on a phone: screenshots, nothing scrolls sideways or is squeezed', async () => {
      expect(await capturePages('phone', 'light')).toEqual([]);
    }, 120_000);

    test('a read-only session sees every page and can change nothing', async () => {
      const { deadId, delayedId } = await keptTasks();
      const ro = await open();
      const p = await ro.newPage();
      await logIn(p, base(), stack.readonlyToken);
      const views: [string, string][] = [
        ['/ui', 'count-normal'],
        ['/ui/hosts', 'host-row'],
        [`/ui/tasks?key=${orderKey}`, 'task-row'],
        [`/ui/tasks/${delayedId}`, 'task-state'],
        [`/ui/tasks/${deadId}`, 'task-error'],
        ['/ui/dead', 'dead-row'],
        ['/ui/waiting/delayed', 'waiting-row'],
      ];
      for (const [path, shown] of views) {
        const response = await p.goto(url(path));
        expect(response?.status(), `GET ${path}`).toBe(200);
        await byTestId(p, shown).first().waitFor();
        for (const id of ACTION_TEST_IDS) {
          expect(await byTestId(p, id).count(), `${id} on ${path} (read-only)`).toBe(0);
        }
      }
      await screenshot(p, { mount, page: 'waiting-readonly', viewport: 'laptop' });

      const cookie = await cookieHeader(ro, base());
      const forged: [string, Record<string, string | string[]>][] = [
        ['/ui/dead/retry', { ids: [deadId] }],
        ['/ui/dead/delete', { ids: [deadId] }],
        ['/ui/dead/retry-matching', { confirm: 'yes' }],
        ['/ui/dead/delete-matching', { confirm: 'yes' }],
        [`/ui/tasks/${delayedId}/cancel`, {}],
        [`/ui/tasks/${delayedId}/run-now`, {}],
      ];
      for (const [path, fields] of forged) {
        const res = await post(path, fields, { cookie });
        expect(res.status, `POST ${path} (read-only)`).toBe(403);
        const html = await res.text();
        expect(html).toContain('data-testid="flash"');
        expect(html).toMatch(/read-only/i);
      }
      expect(await stateOf(deadId)).toBe('dead');
      expect(await stateOf(delayedId)).toBe('delayed');
    }, 90_000);

    test('a cross-site POST is refused even with a full session', async () => {
      const { delayedId } = await keptTasks();
      const cookie = await cookieHeader(context, base());
      const res = await post(
        `/ui/tasks/${delayedId}/cancel`,
        {},
        {
          cookie,
          origin: 'https://evil.example',
        },
      );
      expect(res.status).toBe(403);
      await res.arrayBuffer();
      expect(await stateOf(delayedId)).toBe('delayed');
    });

    test('logs out', async () => {
      await visit(page, '/ui');
      // The overview at the end of the run, with the most history behind its sparklines.
      await byTestId(page, 'count-normal').waitFor();
      await screenshot(page, { mount, page: 'overview-end', viewport: 'laptop' });
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/ui/login'),
        byTestId(page, 'logout').click(),
      ]);
      await page.goto(url('/ui/dead'));
      expect(new URL(page.url()).pathname).toBe('/ui/login');
    });
  });
}
