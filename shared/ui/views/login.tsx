/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/** The login page: one password field for a token; the only page served without a session. */
import { Document } from './layout.js';

/** The login form, with an error after a refused token. */
export function LoginPage(props: { base: string; next: string; error: string | null }) {
  return (
    <Document base={props.base} title="Log in">
      <main class="login">
        <h1>Forklift</h1>
        <form method="post" action={`${props.base}/login`} class="card login-form">
          <label for="token">API token</label>
          <input
            id="token"
            name="token"
            type="password"
            autocomplete="current-password"
            required
            autofocus
            data-testid="login-token"
          />
          <input type="hidden" name="next" value={props.next} />
          {props.error ? (
            <p class="flash flash-error" data-testid="login-error" role="alert">
              {props.error}
            </p>
          ) : null}
          <button type="submit" data-testid="login-submit">
            Log in
          </button>
          <p class="hint">
            A token of FORKLIFT_API_TOKENS (full access) or FORKLIFT_API_READONLY_TOKENS
            (read-only).
          </p>
        </form>
      </main>
    </Document>
  );
}
