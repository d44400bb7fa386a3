/**
 * Request and response plumbing shared by the gateway's routes: reading headers and the raw URL
 * cheaply under Node, the `upstash-sync-token` counter, and writing JSON answers.
 *
 * Under Node (`@hono/node-server`) answers are written straight to the `ServerResponse`: the
 * adapter's fast path for ordinary `Response` objects needs its global `Response` override,
 * which would leak into everything else in the process, and its slow path costs a timer tick
 * per answer. Under `app.request()` (tests without a server) they are ordinary Responses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import type { Access } from './commands.js';

/** The Hono environment of the gateway app. */
export type GatewayEnv = {
  Bindings: { incoming?: IncomingMessage; outgoing?: ServerResponse };
  Variables: { access: Access; summary: string; sync: string; status: number };
};

/** Starts at the boot time in µs, so tokens keep increasing across restarts too. */
let syncCounter = Date.now() * 1000;

/** The next `upstash-sync-token` value (process-wide, strictly increasing). */
export function nextSyncToken(): string {
  return String(++syncCounter);
}

/** A JSON error answer with its HTTP status. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: 400 | 401 | 405 | 413 | 500 | 503,
    message: string,
    /** `Allow` header value, for 405. */
    readonly allow?: string,
  ) {
    super(message);
  }
}

/** Answers `body` (JSON text) with `status`, the sync token and any `extra` headers. */
export function json(
  c: Context<GatewayEnv>,
  status: number,
  body: string,
  extra: Record<string, string> = {},
): Response {
  c.set('status', status);
  const outgoing = c.env?.outgoing;
  if (outgoing && !outgoing.headersSent) {
    outgoing.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'upstash-sync-token': c.get('sync') ?? nextSyncToken(),
      ...extra,
    });
    outgoing.end(body);
    return RESPONSE_ALREADY_SENT;
  }
  return c.body(body, status as 200, { 'content-type': 'application/json', ...extra });
}

/** A request header; under Node read from the parsed message (no Headers object is built). */
export function header(c: Context<GatewayEnv>, name: string): string | undefined {
  const incoming = c.env?.incoming;
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Whether the client asked for `Upstash-Encoding: base64`. */
export function wantsBase64(c: Context<GatewayEnv>): boolean {
  return header(c, 'upstash-encoding')?.trim().toLowerCase() === 'base64';
}

/** The request path and query exactly as sent (Node's raw URL when available). */
export function rawTarget(c: Context<GatewayEnv>): { path: string; query: string } {
  let raw = c.env?.incoming?.url;
  if (raw === undefined) {
    const url = new URL(c.req.url);
    raw = url.pathname + url.search;
  }
  const q = raw.indexOf('?');
  return q < 0 ? { path: raw, query: '' } : { path: raw.slice(0, q), query: raw.slice(q + 1) };
}

/** The `_token` query parameter, parsing the query only when it can be there. */
export function queryToken(c: Context<GatewayEnv>): string | undefined {
  const { query } = rawTarget(c);
  return query.includes('_token=')
    ? (new URLSearchParams(query).get('_token') ?? undefined)
    : undefined;
}
