/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/** `GET <base>/waiting/:list`: a lane (`high`, `normal`, `low`) or the delayed set, paged. */
import type { Env } from 'hono';
import type { WaitingList } from '../../queue-views.js';
import { pageOffset } from '../format.js';
import type { Guard } from '../guard.js';
import { WAITING_LISTS, WaitingPage } from '../views/waiting.js';

/** Tasks per page. */
export const WAITING_PAGE_SIZE = 50;

/** Registers the waiting lists. */
export function waitingRoutes<E extends Env>(guard: Guard<E>): void {
  guard.page('/waiting', async (c) => c.redirect(`${guard.base}/waiting/normal`, 303));
  guard.page('/waiting/:list', async (c, visit) => {
    const list = (c.req.param('list') ?? '') as WaitingList;
    if (!WAITING_LISTS.includes(list)) {
      return guard.render(
        c,
        visit,
        'waiting',
        'No such list',
        <p class="muted">{`Lists: ${WAITING_LISTS.join(', ')}.`}</p>,
        404,
      );
    }
    const offset = pageOffset(c.req.query('offset'));
    const { total, tasks } = await visit.queue.listWaiting(list, offset, WAITING_PAGE_SIZE);
    return guard.render(
      c,
      visit,
      'waiting',
      'Waiting',
      <WaitingPage
        page={visit.page}
        list={list}
        tasks={tasks}
        total={total}
        offset={offset}
        pageSize={WAITING_PAGE_SIZE}
      />,
    );
  });
}
