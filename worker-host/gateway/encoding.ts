/**
 * RESP2 reply → JSON text, as the Upstash REST protocol defines it (upstash-rest-protocol.md §4–5).
 *
 * The Redis connections run RESP2 with buffer replies and `stringNumbers`, so a reply is built
 * from: `Buffer` (bulk or simple string), `string` (an integer's exact decimal digits), `null`
 * (nil), arrays of these, and `Error` (an error nested in an array, e.g. inside EXEC or a Lua
 * table). Integers are written as JSON numbers with their exact digits, even beyond 2^53.
 *
 * With `Upstash-Encoding: base64` every string at every depth is base64 of the raw bytes, except
 * a top-level `OK`, kept literal as Upstash does (the client keeps a literal top-level "OK" but
 * would decode a literal "OK" inside an array to "8"). Without it, strings are UTF-8 text with
 * invalid bytes replaced by U+FFFD. Error texts are never encoded. A nested error becomes its
 * message as a string (the client would turn a nested JSON object into null).
 *
 * The JSON is written by hand because `JSON.stringify` cannot emit integers beyond 2^53 exactly.
 */

/** A RESP2 reply as the gateway's Redis connections deliver it. */
export type RedisReply = Buffer | string | number | null | Error | RedisReply[];

const OK = Buffer.from('OK');

function stringJson(bytes: Buffer, base64: boolean): string {
  return base64 ? `"${bytes.toString('base64')}"` : JSON.stringify(bytes.toString('utf8'));
}

function integerJson(digits: string): string {
  // stringNumbers yields the integer's decimal digits; anything else is quoted as text.
  return /^-?\d+$/.test(digits) ? digits : JSON.stringify(digits);
}

function valueJson(reply: RedisReply, base64: boolean): string {
  if (reply === null || reply === undefined) return 'null';
  if (Buffer.isBuffer(reply)) return stringJson(reply, base64);
  if (typeof reply === 'string') return integerJson(reply);
  if (typeof reply === 'number') return Number.isFinite(reply) ? String(reply) : 'null';
  if (Array.isArray(reply)) {
    let out = '[';
    for (let i = 0; i < reply.length; i++) {
      if (i > 0) out += ',';
      out += valueJson(reply[i] as RedisReply, base64);
    }
    return `${out}]`;
  }
  return stringJson(Buffer.from(reply.message), base64);
}

/**
 * JSON text of a command's result (the value of `"result"`).
 * @example resultJson(Buffer.from('OK'), true) // '"OK"'
 * @example resultJson([Buffer.from('OK')], true) // '["T0s="]'
 */
export function resultJson(reply: RedisReply, base64: boolean): string {
  if (base64 && Buffer.isBuffer(reply) && reply.equals(OK)) return '"OK"';
  return valueJson(reply, base64);
}

/** `{"result":…}` for one successful command. */
export function resultBody(reply: RedisReply, base64: boolean): string {
  return `{"result":${resultJson(reply, base64)}}`;
}

/** `{"error":"…"}`; the text is never base64-encoded. */
export function errorBody(message: string): string {
  return `{"error":${JSON.stringify(message)}}`;
}

/** One item of a `/pipeline` or `/multi-exec` answer. */
export type ItemOutcome = { ok: true; reply: RedisReply } | { ok: false; error: string };

/** The JSON array answered by `/pipeline` and a successful `/multi-exec`. */
export function itemsBody(items: readonly ItemOutcome[], base64: boolean): string {
  let out = '[';
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as ItemOutcome;
    if (i > 0) out += ',';
    out += item.ok ? resultBody(item.reply, base64) : errorBody(item.error);
  }
  return `${out}]`;
}
