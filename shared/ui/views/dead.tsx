/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/**
 * Dead letters: a filter (type, time of death), the list with each task's last error, and the
 * actions: retry or delete one, the selected ones, or every one matching the filter (after a
 * confirmation page; see dead-routes.tsx). Read-only sessions see the list without actions.
 */
import type { DeadFilter, TaskSummary } from '../../queue-views.js';
import { formatTime } from '../format.js';
import type { PageContext } from './layout.js';
import { ActionButton, Pager, TaskLink, withQuery } from './task-table.js';
import { TimeRangeFields } from './time-range.js';

/** The filter as hidden fields (times in ms), for the bulk forms. */
export function FilterFields(props: { filter: DeadFilter }) {
  const { type, from, to } = props.filter;
  return (
    <>
      {type === undefined ? null : <input type="hidden" name="type" value={type} />}
      {from === undefined ? null : <input type="hidden" name="from" value={String(from)} />}
      {to === undefined ? null : <input type="hidden" name="to" value={String(to)} />}
    </>
  );
}

/** The filter in words (`of type x, dead since …`), or '' for no filter. */
export function filterWords(filter: DeadFilter): string {
  const parts: string[] = [];
  if (filter.type !== undefined) parts.push(`of type ${filter.type}`);
  if (filter.from !== undefined) parts.push(`dead since ${formatTime(filter.from)}`);
  if (filter.to !== undefined) parts.push(`dead before ${formatTime(filter.to)}`);
  return parts.join(', ');
}

/** The dead letters a filter names, in words. */
export function describeFilter(filter: DeadFilter): string {
  const words = filterWords(filter);
  return words === '' ? 'every dead letter' : `dead letters ${words}`;
}

function FilterForm(props: { base: string; filter: DeadFilter }) {
  const { filter } = props;
  return (
    <form method="get" action={`${props.base}/dead`} class="filters">
      <label>
        type
        <input name="type" value={filter.type ?? ''} data-testid="dead-filter-type" />
      </label>
      <TimeRangeFields what="dead" from={filter.from} to={filter.to} testIdPrefix="dead-filter" />
      <button type="submit" class="secondary" data-testid="dead-filter-submit">
        Filter
      </button>
    </form>
  );
}

/** The dead-letter page's content. */
export function DeadPage(props: {
  page: PageContext;
  filter: DeadFilter;
  tasks: readonly TaskSummary[];
  total: number;
  offset: number;
  pageSize: number;
}) {
  const { page, filter, tasks, total, offset, pageSize } = props;
  const canAct = page.role === 'full';
  const base = page.base;
  const listUrl = (at: number) =>
    withQuery(`${base}/dead`, {
      type: filter.type,
      from: filter.from,
      to: filter.to,
      offset: at > 0 ? at : undefined,
    });
  return (
    <div>
      <FilterForm base={base} filter={filter} />
      <p class="muted">
        <span data-testid="dead-total">{String(total)}</span>
        {filter.type === undefined
          ? ` dead letter${total === 1 ? '' : 's'} ${filterWords(filter)}`
          : ` dead letters in the time range; showing those ${filterWords(filter)}`}
      </p>
      {canAct && total > 0 ? (
        <div class="actions">
          <form id="dead-bulk" class="form-only" method="post" action={`${base}/dead/retry`}>
            <input type="hidden" name="back" value={page.here} />
          </form>
          <button type="submit" form="dead-bulk" class="secondary" data-testid="retry-selected">
            Retry selected
          </button>
          <button
            type="submit"
            form="dead-bulk"
            formaction={`${base}/dead/delete`}
            class="secondary"
            data-testid="delete-selected"
          >
            Delete selected
          </button>
          <form method="post" action={`${base}/dead/retry-matching`}>
            <FilterFields filter={filter} />
            <button type="submit" data-testid="retry-all-matching">
              Retry all matching…
            </button>
          </form>
          <form method="post" action={`${base}/dead/delete-matching`}>
            <FilterFields filter={filter} />
            <button type="submit" class="danger" data-testid="delete-all-matching">
              Delete all matching…
            </button>
          </form>
        </div>
      ) : null}
      {tasks.length === 0 ? (
        <p class="muted" data-testid="no-results">
          No dead letters.
        </p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                {canAct ? (
                  <th>
                    <input
                      type="checkbox"
                      data-select-all="dead-bulk"
                      aria-label="select all"
                      data-testid="dead-select-all"
                    />
                  </th>
                ) : null}
                <th>id</th>
                <th>type</th>
                <th class="num">attempts</th>
                <th>error</th>
                <th>died</th>
                {canAct ? <th></th> : null}
              </tr>
            </thead>
            <tbody>
              {tasks.map((task) => (
                <tr data-testid="dead-row" data-task-id={task.id}>
                  {canAct ? (
                    <td>
                      <input
                        type="checkbox"
                        name="ids"
                        value={task.id}
                        form="dead-bulk"
                        data-testid="dead-select"
                        aria-label={`select ${task.id}`}
                      />
                    </td>
                  ) : null}
                  <td>
                    <TaskLink base={base} id={task.id} />
                  </td>
                  <td>{task.type}</td>
                  <td class="num" data-label="attempts">
                    {String(task.attempts)}
                  </td>
                  <td class="error" data-testid="dead-error" data-label="error">
                    {task.error ?? ''}
                  </td>
                  <td data-label="died">{formatTime(task.finishedAt)}</td>
                  {canAct ? (
                    <td class="row-actions">
                      <ActionButton
                        action={`${base}/dead/retry`}
                        back={page.here}
                        fields={{ ids: task.id }}
                        label="Retry"
                        testId="retry-button"
                      />
                      <ActionButton
                        action={`${base}/dead/delete`}
                        back={page.here}
                        fields={{ ids: task.id }}
                        label="Delete"
                        testId="delete-button"
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
        next={
          (filter.type === undefined ? offset + pageSize < total : tasks.length >= pageSize) &&
          tasks.length > 0
            ? listUrl(offset + pageSize)
            : null
        }
      >
        {tasks.length === 0
          ? ''
          : filter.type === undefined
            ? `${offset + 1}–${offset + tasks.length} of ${total}`
            : `${offset + 1}–${offset + tasks.length}`}
      </Pager>
    </div>
  );
}

/** What a bulk action over the filter does, in words. */
export type BulkVerb = 'retry' | 'delete';

/** The confirmation page of a bulk action over every dead letter matching the filter. */
export function ConfirmBulk(props: {
  page: PageContext;
  verb: BulkVerb;
  filter: DeadFilter;
  total: number;
}) {
  const { page, verb, filter } = props;
  const back = withQuery(`${page.base}/dead`, filter as Record<string, string | number>);
  return (
    <div class="card">
      <p>
        {`${verb === 'retry' ? 'Retry' : 'Delete'} ${describeFilter(filter)}: ${filter.type === undefined ? 'about' : 'at most'} `}
        <strong data-testid="confirm-count">{String(props.total)}</strong>
        {verb === 'retry'
          ? ' tasks go back to their lanes.'
          : ' tasks are deleted for good, with their records.'}
      </p>
      <div class="actions">
        <form method="post" action={`${page.base}/dead/${verb}-matching`}>
          <FilterFields filter={filter} />
          <input type="hidden" name="confirm" value="yes" />
          <button
            type="submit"
            class={verb === 'delete' ? 'danger' : undefined}
            data-testid="confirm-button"
          >
            {verb === 'retry' ? 'Yes, retry them' : 'Yes, delete them'}
          </button>
        </form>
        <a class="button secondary" href={back} data-testid="confirm-cancel">
          Cancel
        </a>
      </div>
    </div>
  );
}

/** The page a bulk action shows when it stopped at its per-request bound with work left. */
export function BulkProgressPage(props: {
  page: PageContext;
  verb: BulkVerb;
  filter: DeadFilter;
  processed: number;
  cursor: string | null;
}) {
  const { page, verb } = props;
  return (
    <div class="card">
      <p data-testid="bulk-progress">
        {`${verb === 'retry' ? 'Retried' : 'Deleted'} ${props.processed} so far; more remain. Continuing…`}
      </p>
      <form method="post" action={`${page.base}/dead/${verb}-matching`} data-auto-submit>
        <FilterFields filter={props.filter} />
        <input type="hidden" name="confirm" value="yes" />
        <input type="hidden" name="processed" value={String(props.processed)} />
        {props.cursor === null ? null : <input type="hidden" name="cursor" value={props.cursor} />}
        <button type="submit" data-testid="continue-button">
          Continue
        </button>
      </form>
    </div>
  );
}
