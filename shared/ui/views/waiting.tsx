/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/**
 * The waiting lists: each lane (in the order a strict host takes them) and the delayed set (by
 * due time). Full-access sessions may cancel a task, or run a delayed one now.
 */
import type { TaskSummary, WaitingList } from '../../queue-views.js';
import { formatTime } from '../format.js';
import type { PageContext } from './layout.js';
import { ActionButton, Pager, TaskLink, taskHref, withQuery } from './task-table.js';

/** The lists, in tab order. */
export const WAITING_LISTS: readonly WaitingList[] = ['high', 'normal', 'low', 'delayed'];

/** The waiting page's content. */
export function WaitingPage(props: {
  page: PageContext;
  list: WaitingList;
  tasks: readonly TaskSummary[];
  total: number;
  offset: number;
  pageSize: number;
}) {
  const { page, list, tasks, total, offset, pageSize } = props;
  const canAct = page.role === 'full';
  const listUrl = (at: number) =>
    withQuery(`${page.base}/waiting/${list}`, { offset: at > 0 ? at : undefined });
  return (
    <div>
      <nav class="tabs">
        {WAITING_LISTS.map((name) => (
          <a
            href={`${page.base}/waiting/${name}`}
            class={name === list ? 'current' : undefined}
            data-testid={`waiting-tab-${name}`}
          >
            {name}
          </a>
        ))}
      </nav>
      <p class="muted">
        <span data-testid="waiting-total">{String(total)}</span>
        {list === 'delayed'
          ? ` delayed ${total === 1 ? 'task' : 'tasks'}, soonest first`
          : ` ${total === 1 ? 'task' : 'tasks'} in the ${list} lane, next first`}
      </p>
      {tasks.length === 0 ? (
        <p class="muted" data-testid="no-results">
          Nothing waits here.
        </p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>id</th>
                <th>type</th>
                <th class="num">attempts</th>
                <th>enqueued</th>
                {list === 'delayed' ? <th>due</th> : null}
                {canAct ? <th></th> : null}
              </tr>
            </thead>
            <tbody>
              {tasks.map((task) => (
                <tr data-testid="waiting-row" data-task-id={task.id}>
                  <td>
                    <TaskLink base={page.base} id={task.id} />
                  </td>
                  <td>{task.type}</td>
                  <td
                    class="num"
                    data-label="attempts"
                  >{`${task.attempts} / ${task.maxAttempts}`}</td>
                  <td data-label="enqueued">{formatTime(task.enqueuedAt)}</td>
                  {list === 'delayed' ? <td data-label="due">{formatTime(task.runAt)}</td> : null}
                  {canAct ? (
                    <td class="row-actions">
                      {list === 'delayed' ? (
                        <ActionButton
                          action={`${taskHref(page.base, task.id)}/run-now`}
                          back={page.here}
                          label="Run now"
                          testId="run-now-button"
                        />
                      ) : null}
                      <ActionButton
                        action={`${taskHref(page.base, task.id)}/cancel`}
                        back={page.here}
                        label="Cancel"
                        testId="cancel-button"
                        danger
                      />
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager
        prev={offset > 0 ? listUrl(Math.max(0, offset - pageSize)) : null}
        next={offset + pageSize < total && tasks.length > 0 ? listUrl(offset + pageSize) : null}
      >
        {total > 0 ? `${offset + 1}–${offset + tasks.length} of ${total}` : ''}
      </Pager>
    </div>
  );
}
