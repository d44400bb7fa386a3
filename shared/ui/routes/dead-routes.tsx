/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/**
 * `GET <base>/dead` and its actions. `POST /dead/retry` and `/dead/delete` take `ids` fields (one
 * or the selected). `POST /dead/retry-matching` and `/dead/delete-matching` take the filter
 * (`type`, `from`, `to`): without `confirm=yes` they answer a confirmation page; with it they run
 * the engine's chunked bulk call in a loop, at most `MAX_CHUNKS_PER_REQUEST` chunks or
 * `BULK_BUDGET_MS` per request so neither Redis nor the request is held long, and answer either
 * a 303 to the list with a flash, or a progress page that continues with the returned cursor.
 */
import type { Context, Env } from 'hono';
import type { DeadFilter } from '../../queue-views.js';
import type { DashboardQueue } from '../dashboard-queue.js';
import { setFlash } from '../flash.js';
import { pageOffset, parseTimeParam } from '../format.js';
import type { Form, Guard } from '../guard.js';
import { safeBack } from '../guard.js';
import { BulkProgressPage, type BulkVerb, ConfirmBulk, DeadPage } from '../views/dead.js';
import { withQuery } from '../views/task-table.js';

/** Dead letters per page. */
export const DEAD_PAGE_SIZE = 50;
/** Bulk chunks one request runs at most. */
export const MAX_CHUNKS_PER_REQUEST = 20;
/** Time one request spends on bulk chunks at most (it finishes the chunk it is in). */
export const BULK_BUDGET_MS = 2_000;
/** Ids one retry or delete of selected letters takes. */
const MAX_IDS = 500;

/** A dead-letter filter from query or form values. */
export function deadFilter(value: (name: string) => string | undefined): DeadFilter {
  const type = value('type')?.trim() ?? '';
  const from = parseTimeParam(value('from'));
  const to = parseTimeParam(value('to'));
  return {
    ...(type === '' ? {} : { type }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
  };
}

function runChunk(
  queue: DashboardQueue,
  verb: BulkVerb,
  filter: DeadFilter,
  cursor: string | null,
) {
  return verb === 'retry'
    ? queue.retryDeadMatching(filter, cursor)
    : queue.deleteDeadMatching(filter, cursor);
}

/** Registers the dead-letter page and its actions. */
export function deadRoutes<E extends Env>(guard: Guard<E>): void {
  const { base } = guard;
  const listUrl = (filter: DeadFilter) =>
    withQuery(`${base}/dead`, filter as Record<string, string | number>);

  guard.page('/dead', async (c, visit) => {
    const filter = deadFilter((name) => c.req.query(name));
    const offset = pageOffset(c.req.query('offset'));
    const { total, tasks } = await visit.queue.deadPage(filter, offset, DEAD_PAGE_SIZE);
    return guard.render(
      c,
      visit,
      'dead',
      'Dead letters',
      <DeadPage
        page={visit.page}
        filter={filter}
        tasks={tasks}
        total={total}
        offset={offset}
        pageSize={DEAD_PAGE_SIZE}
      />,
    );
  });

  const selected =
    (verb: BulkVerb) => async (c: Context<E>, visit: { queue: DashboardQueue }, form: Form) => {
      const back = safeBack(base, form('back')[0], `${base}/dead`);
      const ids = [...new Set(form('ids'))].slice(0, MAX_IDS);
      if (ids.length === 0) {
        setFlash(c, base, { kind: 'error', text: 'Select at least one dead letter.' });
        return c.redirect(back, 303);
      }
      const { done, notDead } =
        verb === 'retry'
          ? await visit.queue.retryDead(ids).then((r) => ({ done: r.retried, notDead: r.notDead }))
          : await visit.queue
              .deleteDead(ids)
              .then((r) => ({ done: r.deleted, notDead: r.notDead }));
      const what = `${verb === 'retry' ? 'Retried' : 'Deleted'} ${done} dead letter${done === 1 ? '' : 's'}`;
      setFlash(c, base, {
        kind: notDead.length > 0 && done === 0 ? 'error' : 'ok',
        text: notDead.length > 0 ? `${what}; ${notDead.length} no longer dead.` : `${what}.`,
      });
      return c.redirect(back, 303);
    };
  guard.action('/dead/retry', selected('retry'));
  guard.action('/dead/delete', selected('delete'));

  const matching =
    (verb: BulkVerb) =>
    async (c: Context<E>, visit: Parameters<Parameters<Guard<E>['action']>[1]>[1], form: Form) => {
      const filter = deadFilter((name) => form(name)[0]);
      if (form('confirm')[0] !== 'yes') {
        const { total } = await visit.queue.deadPage(filter, 0, 1);
        return guard.render(
          c,
          visit,
          'dead',
          verb === 'retry' ? 'Retry dead letters?' : 'Delete dead letters?',
          <ConfirmBulk page={visit.page} verb={verb} filter={filter} total={total} />,
        );
      }
      let processed = Math.max(0, Number.parseInt(form('processed')[0] ?? '0', 10) || 0);
      let cursor: string | null = form('cursor')[0] ?? null;
      const started = Date.now();
      for (let chunk = 0; chunk < MAX_CHUNKS_PER_REQUEST; chunk++) {
        const progress = await runChunk(visit.queue, verb, filter, cursor);
        processed += progress.processed;
        cursor = progress.cursor;
        if (progress.done) {
          setFlash(c, base, {
            kind: 'ok',
            text: `${verb === 'retry' ? 'Retried' : 'Deleted'} ${processed} dead letter${processed === 1 ? '' : 's'}.`,
          });
          return c.redirect(listUrl(filter), 303);
        }
        if (Date.now() - started > BULK_BUDGET_MS) break;
      }
      return guard.render(
        c,
        visit,
        'dead',
        verb === 'retry' ? 'Retrying dead letters' : 'Deleting dead letters',
        <BulkProgressPage
          page={visit.page}
          verb={verb}
          filter={filter}
          processed={processed}
          cursor={cursor}
        />,
      );
    };
  guard.action('/dead/retry-matching', matching('retry'));
  guard.action('/dead/delete-matching', matching('delete'));
}
