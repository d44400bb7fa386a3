/**
 * Raw HTTP helpers for the gateway tests: `call` sends one request and reads the answer as
 * text and, when it is JSON, parsed.
 */
import type { TestGateway } from '../support/gateway.js';

/** A gateway answer. */
export interface Answer {
  status: number;
  text: string;
  body: unknown;
  headers: Headers;
}

export async function call(
  target: TestGateway,
  path: string,
  init: {
    method?: string;
    body?: unknown;
    token?: string | null;
    b64?: boolean;
    raw?: BodyInit;
    /** Bounded wait: abort the request after this many ms (the call then rejects). */
    timeoutMs?: number;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const token = init.token === undefined ? target.token : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (init.b64) headers['upstash-encoding'] = 'base64';
  const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  const res = await fetch(`${target.url}${path}`, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body === undefined ? {} : { body }),
    ...(init.timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(init.timeoutMs) }),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, text, body: parsed, headers: res.headers };
}

export const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
