/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/**
 * One task: state, type, attempts and stalls, timestamps, payload, result or error, and the
 * actions its state allows (cancel a waiting task; run a delayed one, or a failed one awaiting
 * its retry, now). Action buttons are shown to full-access sessions only.
 */
import type { TaskView } from '../../task-record.js';
import { formatDuration, formatJson, formatTime } from '../format.js';
import type { PageContext } from './layout.js';
import { ActionButton, StateBadge, taskHref } from './task-table.js';

/** States a cancel accepts. */
export const CANCELABLE = new Set(['queued', 'delayed', 'failed']);
/** States run-now accepts. */
export const RUNNABLE_NOW = new Set(['delayed', 'failed']);

/** The task page's content. */
export function TaskPage(props: { page: PageContext; task: TaskView }) {
  const { page, task } = props;
  const canAct = page.role === 'full';
  const href = taskHref(page.base, task.id);
  return (
    <div>
      <dl class="fields card">
        <dt>id</dt>
        <dd class="id" data-testid="task-id">
          {task.id}
        </dd>
        <dt>state</dt>
        <dd>
          <span data-testid="task-state" data-state={task.state}>
            <StateBadge state={task.state} />
          </span>
        </dd>
        <dt>type</dt>
        <dd data-testid="task-type">{task.type}</dd>
        <dt>priority</dt>
        <dd>{task.priority}</dd>
        <dt>attempts</dt>
        <dd data-testid="task-attempts">{`${task.attempts} / ${task.maxAttempts}`}</dd>
        <dt>stalls</dt>
        <dd data-testid="task-stalls">{`${task.stalls} / ${task.maxStalls}`}</dd>
        <dt>timeout</dt>
        <dd>{formatDuration(task.timeoutMs)}</dd>
        <dt>created</dt>
        <dd>{formatTime(task.createdAt)}</dd>
        <dt>run at</dt>
        <dd>{formatTime(task.runAt)}</dd>
        <dt>started</dt>
        <dd>{formatTime(task.startedAt)}</dd>
        <dt>finished</dt>
        <dd>{formatTime(task.finishedAt)}</dd>
      </dl>
      {canAct && (CANCELABLE.has(task.state) || RUNNABLE_NOW.has(task.state)) ? (
        <div class="actions">
          {RUNNABLE_NOW.has(task.state) ? (
            <ActionButton
              action={`${href}/run-now`}
              back={page.here}
              label="Run now"
              testId="run-now-button"
            />
          ) : null}
          {CANCELABLE.has(task.state) ? (
            <ActionButton
              action={`${href}/cancel`}
              back={page.here}
              label="Cancel"
              testId="cancel-button"
              danger
            />
          ) : null}
        </div>
      ) : null}
      <h2>Payload</h2>
      <pre data-testid="task-payload">{formatJson(task.payload)}</pre>
      {task.result !== null || task.state === 'succeeded' ? (
        <>
          <h2>Result</h2>
          <pre data-testid="task-result">{formatJson(task.result)}</pre>
        </>
      ) : null}
      {task.error !== null ? (
        <>
          <h2>Error</h2>
          <pre class="error" data-testid="task-error">
            {task.error}
          </pre>
        </>
      ) : null}
    </div>
  );
}
