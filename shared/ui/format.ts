/** Plain-text formatting of the numbers, durations and times the pages show. */

/** `1234567` → `1,234,567` (for display only: counters tests parse carry the bare integer). */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A duration in ms as `850 ms`, `4.2 s`, `3 min 12 s`, `2 h 5 min` or `3 d 4 h`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ${Math.floor(s % 60)} s`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** A time (ms or ISO string) as `2026-12-01 10:02:03 UTC`, or `—`. */
export function formatTime(at: number | string | null | undefined): string {
  if (at === null || at === undefined) return '—';
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return String(at);
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Bytes as `512 B`, `3.4 MiB`, ... */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** A JSON value pretty-printed for a `<pre>` (escaped by JSX when rendered). */
export function formatJson(value: unknown): string {
  if (value === undefined) return '';
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * A time a form sent (`2026-12-01T10:00` from a datetime-local input, read as UTC; an ISO string;
 * or ms since the epoch) as ms, or undefined when empty or unreadable.
 */
export function parseTimeParam(value: string | undefined): number | undefined {
  const text = value?.trim() ?? '';
  if (text === '') return undefined;
  if (/^\d{1,16}$/.test(text)) return Number(text);
  const zoned = /(Z|[+-]\d\d:?\d\d)$/i.test(text) ? text : `${text}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? undefined : ms;
}

/** ms as the value of a datetime-local input (UTC), or ''. */
export function timeInputValue(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString().slice(0, 16);
}

/** A page offset from a query parameter: a whole number from 0 to 1e9, 0 when absent or bad. */
export function pageOffset(raw: string | undefined): number {
  return Math.max(0, Math.min(1e9, Number.parseInt(raw ?? '0', 10) || 0));
}
