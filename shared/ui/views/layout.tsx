/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/**
 * The page shell: head (the dashboard's stylesheet and script, nothing inline), header with the
 * queue's name and the navigation, the flash message, then the page.
 */
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { Flash } from '../flash.js';
import type { Role } from '../session.js';

/** The navigation sections. */
export type Section = 'overview' | 'hosts' | 'tasks' | 'dead' | 'waiting';

/** What every signed-in page knows besides its data. */
export interface PageContext {
  /** Where the dashboard is mounted, e.g. `/ui`. */
  base: string;
  role: Role;
  queueName: string;
  flash: Flash | null;
  /** The current path and query, where an action sends the browser back to. */
  here: string;
}

/** A constant, not data: the only `raw` of the dashboard. */
const DOCTYPE = raw('<!doctype html>');

/** The document around a page's content; `page` is null on the login and error pages. */
export function Document(props: { base: string; title: string; children: Child }) {
  return (
    <>
      {DOCTYPE}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="color-scheme" content="light dark" />
          <title>{`${props.title} · Forklift`}</title>
          <link rel="stylesheet" href={`${props.base}/assets/app.css`} />
          <script src={`${props.base}/assets/app.js`} defer></script>
        </head>
        <body>{props.children}</body>
      </html>
    </>
  );
}

const NAV: readonly { section: Section; label: string; path: string }[] = [
  { section: 'overview', label: 'Overview', path: '' },
  { section: 'hosts', label: 'Hosts', path: '/hosts' },
  { section: 'tasks', label: 'Tasks', path: '/tasks' },
  { section: 'dead', label: 'Dead letters', path: '/dead' },
  { section: 'waiting', label: 'Waiting', path: '/waiting/normal' },
];

/** The flash message, if any. */
export function FlashMessage(props: { flash: Flash | null }) {
  if (!props.flash) return null;
  return (
    <p
      class={`flash flash-${props.flash.kind}`}
      data-testid="flash"
      role={props.flash.kind === 'error' ? 'alert' : 'status'}
    >
      {props.flash.text}
    </p>
  );
}

/** A signed-in page: header, navigation, flash, content. */
export function Layout(props: {
  page: PageContext;
  section: Section;
  title: string;
  children: Child;
}) {
  const { page } = props;
  return (
    <Document base={page.base} title={props.title}>
      <header class="top">
        <a class="brand" href={page.base}>
          Forklift <span class="queue-name">{page.queueName}</span>
        </a>
        <nav class="nav">
          {NAV.map((item) => (
            <a
              href={`${page.base}${item.path}`}
              data-testid={`nav-${item.section}`}
              class={item.section === props.section ? 'current' : undefined}
              aria-current={item.section === props.section ? 'page' : undefined}
            >
              {item.label}
            </a>
          ))}
        </nav>
        <form class="logout" method="post" action={`${page.base}/logout`}>
          <span class={`role role-${page.role}`}>
            {page.role === 'full' ? 'full access' : 'read-only'}
          </span>
          <button type="submit" class="link" data-testid="logout">
            Log out
          </button>
        </form>
      </header>
      <main>
        <FlashMessage flash={page.flash} />
        <h1>{props.title}</h1>
        {props.children}
      </main>
    </Document>
  );
}

/** A hidden `back` field: where an action returns to. */
export function Back(props: { page: PageContext }) {
  return <input type="hidden" name="back" value={props.page.here} />;
}
