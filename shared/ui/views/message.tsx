/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/** A page that only says something: errors, refusals, an unconfigured dashboard. */
import { Document } from './layout.js';

/** A bare message page (no navigation: the visitor may have no session). */
export function MessagePage(props: {
  base: string;
  title: string;
  text: string;
  link?: { href: string; label: string };
}) {
  return (
    <Document base={props.base} title={props.title}>
      <main class="login">
        <h1>{props.title}</h1>
        <p class="flash flash-error" data-testid="flash" role="alert">
          {props.text}
        </p>
        {props.link ? <a href={props.link.href}>{props.link.label}</a> : null}
      </main>
    </Document>
  );
}
