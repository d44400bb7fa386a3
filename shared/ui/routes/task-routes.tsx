/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/**
 * `GET <base>/tasks` (search: one task by id or idempotency key, or a filtered page by type,
 * state and time range with a cursor), `GET <base>/tasks/:id`, and the actions
 * `POST <base>/tasks/:id/cancel` and `POST <base>/tasks/:id/run-now`.
 */
import type { Env } from 'hono';
import type { TaskSummary } from '../../queue-views.js';
import { TASK_STATES, type TaskState } from '../../task-state.js';
import { setFlash } from '../flash.js';
import { parseTimeParam } from '../format.js';
import { type Guard, safeBack } from '../guard.js';
import { type SearchFields, SearchPage } from '../views/search.js';
import { TaskPage } from '../views/task-page.js';
import { taskHref, withQuery } from '../views/task-table.js';

/** Results per search page. */
export const SEARCH_PAGE_SIZE = 50;

/** Registers the search, the task page and the task actions. */
export function taskRoutes<E extends Env>(guard: Guard<E>): void {
  const { base } = guard;

  guard.page('/tasks', async (c, visit) => {
    const q = (name: string) => c.req.query(name)?.trim() ?? '';
    const fields: SearchFields = {
      id: q('id'),
      key: q('key'),
      type: q('type'),
      state: (TASK_STATES as readonly string[]).includes(q('state')) ? q('state') : '',
      from: parseTimeParam(q('from')),
      to: parseTimeParam(q('to')),
    };
    let tasks: TaskSummary[] = [];
    let next: string | null = null;
    let note: string | null = null;
    if (fields.id !== '') {
      const task = await visit.queue.getTask(fields.id);
      if (task) return c.redirect(taskHref(base, task.id), 303);
      note = 'No task has that id (or its record has expired).';
    } else if (fields.key !== '') {
      const task = await visit.queue.findByIdempotencyKey(fields.key);
      tasks = task ? [task] : [];
      if (!task) note = 'No live task has that idempotency key.';
    } else {
      const cursor = q('cursor');
      const page = await visit.queue.searchTasks({
        ...(fields.type === '' ? {} : { type: fields.type }),
        ...(fields.state === '' ? {} : { state: fields.state as TaskState }),
        ...(fields.from === undefined ? {} : { from: fields.from }),
        ...(fields.to === undefined ? {} : { to: fields.to }),
        ...(cursor === '' ? {} : { cursor }),
        limit: SEARCH_PAGE_SIZE,
      });
      tasks = page.tasks;
      next =
        page.cursor === null
          ? null
          : withQuery(`${base}/tasks`, {
              type: fields.type,
              state: fields.state,
              from: fields.from,
              to: fields.to,
              cursor: page.cursor,
            });
    }
    return guard.render(
      c,
      visit,
      'tasks',
      'Tasks',
      <SearchPage page={visit.page} fields={fields} tasks={tasks} next={next} note={note} />,
    );
  });

  guard.page('/tasks/:id', async (c, visit) => {
    const id = c.req.param('id') ?? '';
    const task = await visit.queue.getTask(id);
    if (!task) {
      return guard.render(
        c,
        visit,
        'tasks',
        'Task not found',
        <p class="muted" data-testid="task-not-found">
          {`No task ${id}: it never existed, or its record has expired.`}
        </p>,
        404,
      );
    }
    return guard.render(
      c,
      visit,
      'tasks',
      `Task ${task.type}`,
      <TaskPage page={visit.page} task={task} />,
    );
  });

  /** Where an action on a task returns when its form names no page: the task, if it exists. */
  const fallback = (id: string, outcome: string) =>
    outcome === 'not_found' ? `${base}/tasks` : taskHref(base, id);

  guard.action('/tasks/:id/cancel', async (c, visit, form) => {
    const id = c.req.param('id') ?? '';
    const result = await visit.queue.cancel(id);
    const back = safeBack(base, form('back')[0], fallback(id, result.outcome));
    setFlash(
      c,
      base,
      result.outcome === 'canceled'
        ? { kind: 'ok', text: `Canceled task ${id}.` }
        : result.outcome === 'not_found'
          ? { kind: 'error', text: `No task ${id}.` }
          : { kind: 'error', text: `Task ${id} is ${result.state}: it cannot be canceled.` },
    );
    return c.redirect(back, 303);
  });

  guard.action('/tasks/:id/run-now', async (c, visit, form) => {
    const id = c.req.param('id') ?? '';
    const result = await visit.queue.runNow(id);
    const back = safeBack(base, form('back')[0], fallback(id, result.outcome));
    setFlash(
      c,
      base,
      result.outcome === 'queued'
        ? { kind: 'ok', text: `Task ${id} is queued to run now.` }
        : result.outcome === 'not_found'
          ? { kind: 'error', text: `No task ${id}.` }
          : { kind: 'error', text: `Task ${id} is ${result.state}: it cannot be run now.` },
    );
    return c.redirect(back, 303);
  });
}
