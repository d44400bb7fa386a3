/**
 * The dashboard's only script (`<base>/assets/app.js`, no inline code under the CSP):
 *
 * - An element with `data-refresh="<url>"` is replaced by the fragment at that URL every 5 s,
 *   only while the tab is visible; hiding the tab stops the timer and showing it refreshes at
 *   once. A refresh answered by anything but 200 reloads the page (a lost session shows login).
 * - A checkbox with `data-select-all="<form id>"` checks every `dead-select` box of that form.
 * - A form with `data-auto-submit` (the "continue" of a long bulk action) submits itself.
 *
 * Everything works without it except the live refresh.
 */
export const APP_JS = `(() => {
  'use strict';
  const PERIOD = 5000;
  const target = document.querySelector('[data-refresh]');
  let timer = null;
  let busy = false;
  async function refresh() {
    if (busy || document.visibilityState !== 'visible' || !target) return;
    busy = true;
    try {
      const res = await fetch(target.getAttribute('data-refresh'), {
        credentials: 'same-origin',
        headers: { accept: 'text/html' },
        redirect: 'manual',
      });
      if (res.status !== 200) { location.reload(); return; }
      const html = await res.text();
      const next = new DOMParser().parseFromString(html, 'text/html').body.firstElementChild;
      if (next) target.replaceChildren(next);
    } catch (e) {
      // Offline for a moment: try again at the next tick.
    } finally {
      busy = false;
    }
  }
  function schedule() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    if (target && document.visibilityState === 'visible') timer = setInterval(refresh, PERIOD);
  }
  document.addEventListener('visibilitychange', () => {
    schedule();
    if (document.visibilityState === 'visible') refresh();
  });
  schedule();

  for (const box of document.querySelectorAll('input[data-select-all]')) {
    box.addEventListener('change', () => {
      const form = box.getAttribute('data-select-all');
      for (const item of document.querySelectorAll('input[data-testid="dead-select"][form="' + form + '"]')) {
        item.checked = box.checked;
      }
    });
  }
  const auto = document.querySelector('form[data-auto-submit]');
  if (auto) setTimeout(() => auto.requestSubmit(), 300);
})();
`;
