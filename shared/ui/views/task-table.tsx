/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/** Pieces every task list shares: a state badge, a link to a task, a pager. */
import type { Child } from 'hono/jsx';

/** A task's state as a coloured badge. */
export function StateBadge(props: { state: string }) {
  return <span class={`state state-${props.state}`}>{props.state}</span>;
}

/** The URL of a task's page. */
export function taskHref(base: string, id: string): string {
  return `${base}/tasks/${encodeURIComponent(id)}`;
}

/** A link to a task's page, showing its id. */
export function TaskLink(props: { base: string; id: string }) {
  return (
    <a class="id" href={taskHref(props.base, props.id)}>
      {props.id}
    </a>
  );
}

/** `path` with `params` (empty values left out) as its query. */
export function withQuery(path: string, params: Record<string, string | number | undefined>) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') query.set(key, String(value));
  }
  const text = query.toString();
  return text === '' ? path : `${path}?${text}`;
}

/** Previous and next links of a list. */
export function Pager(props: { prev?: string | null; next?: string | null; children?: Child }) {
  return (
    <div class="pager">
      {props.prev ? (
        <a href={props.prev} data-testid="prev-page">
          ← previous
        </a>
      ) : null}
      <span>{props.children}</span>
      {props.next ? (
        <a href={props.next} data-testid="next-page">
          next →
        </a>
      ) : null}
    </div>
  );
}

/** A POST button in a form of its own (one action on one thing). */
export function ActionButton(props: {
  action: string;
  back: string;
  label: string;
  testId: string;
  fields?: Record<string, string>;
  danger?: boolean;
}) {
  return (
    <form method="post" action={props.action}>
      <input type="hidden" name="back" value={props.back} />
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button
        type="submit"
        class={props.danger ? 'small danger' : 'small secondary'}
        data-testid={props.testId}
      >
        {props.label}
      </button>
    </form>
  );
}
