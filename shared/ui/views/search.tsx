/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/** The task search: a form (id, idempotency key, type, state, time range) and its results. */
import type { TaskSummary } from '../../queue-views.js';
import { TASK_STATES } from '../../task-state.js';
import { formatTime } from '../format.js';
import type { PageContext } from './layout.js';
import { Pager, StateBadge, TaskLink } from './task-table.js';
import { TimeRangeFields } from './time-range.js';

/** The search fields as the form sent them (times parsed to ms). */
export interface SearchFields {
  id: string;
  key: string;
  type: string;
  state: string;
  from: number | undefined;
  to: number | undefined;
}

function SearchForm(props: { base: string; fields: SearchFields }) {
  const { fields } = props;
  return (
    <form method="get" action={`${props.base}/tasks`} class="filters">
      <label>
        id
        <input name="id" value={fields.id} data-testid="search-id" />
      </label>
      <label>
        idempotency key
        <input name="key" value={fields.key} data-testid="search-key" />
      </label>
      <label>
        type
        <input name="type" value={fields.type} data-testid="search-type" />
      </label>
      <label>
        state
        <select name="state" data-testid="search-state">
          <option value="">any</option>
          {TASK_STATES.map((state) => (
            <option value={state} selected={fields.state === state}>
              {state}
            </option>
          ))}
        </select>
      </label>
      <TimeRangeFields what="enqueued" from={fields.from} to={fields.to} testIdPrefix="search" />
      <button type="submit" data-testid="search-submit">
        Search
      </button>
    </form>
  );
}

/** Rows of task summaries with a link to each task. */
export function TaskRows(props: { base: string; tasks: readonly TaskSummary[] }) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th>id</th>
            <th>type</th>
            <th>state</th>
            <th class="hide-narrow">priority</th>
            <th class="num">attempts</th>
            <th>enqueued</th>
            <th class="hide-narrow">key</th>
          </tr>
        </thead>
        <tbody>
          {props.tasks.map((task) => (
            <tr data-testid="task-row" data-task-id={task.id}>
              <td>
                <TaskLink base={props.base} id={task.id} />
              </td>
              <td>{task.type}</td>
              <td>
                <StateBadge state={task.state} />
              </td>
              <td class="hide-narrow">{task.priority}</td>
              <td class="num" data-label="attempts">{`${task.attempts} / ${task.maxAttempts}`}</td>
              <td data-label="enqueued">{formatTime(task.enqueuedAt)}</td>
              <td class="hide-narrow id">{task.idempotencyKey ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The search page: the form, then the results (or a note that there are none). */
export function SearchPage(props: {
  page: PageContext;
  fields: SearchFields;
  tasks: readonly TaskSummary[];
  next: string | null;
  note: string | null;
}) {
  const { page } = props;
  return (
    <div>
      <SearchForm base={page.base} fields={props.fields} />
      {props.note ? <p class="muted">{props.note}</p> : null}
      {props.tasks.length === 0 ? (
        <p class="muted" data-testid="no-results">
          No task matches.
        </p>
      ) : (
        <TaskRows base={page.base} tasks={props.tasks} />
      )}
      <Pager next={props.next} />
    </div>
  );
}
