/**
 * Checks of the arguments `QueueClient`'s operations take from callers (ids, filters, cursors,
 * counts): each refusal is a `ValidationError` naming the argument, thrown before Redis is
 * called. Strings that become part of a key must be well-formed Unicode (Redis would receive
 * U+FFFD for an unpaired surrogate, so two different strings would name one key).
 */
import { type ValidationIssue, wellFormedProblem } from './enqueue-request.js';
import { ValidationError } from './errors.js';
import { PRIORITIES } from './priority.js';

/**
 * Throws a `ValidationError` naming each `[path, value]` whose value is not well-formed Unicode.
 */
export function requireWellFormed(entries: Iterable<readonly [string, string | undefined]>): void {
  const issues: ValidationIssue[] = [];
  for (const [path, value] of entries) {
    const problem = value === undefined ? null : wellFormedProblem(value);
    if (problem) issues.push({ path, message: problem });
  }
  if (issues.length > 0) throw new ValidationError(issues);
}

/** Search cursors are `<score>:<id>`, bulk cursors `<until>:<score>:<id>` (see the scripts). */
export const SEARCH_CURSOR = /^\d{1,16}:[^\s]{1,256}$/;
export const BULK_CURSOR = /^\d{1,16}:\d{1,16}:[^\s]{1,256}$/;
/** The lists `listWaiting` pages. */
export const WAITING_LISTS: readonly string[] = [...PRIORITIES, 'delayed'];

/** True for a whole number from 0 to `max`. */
export const isCount = (n: unknown, max = Number.MAX_SAFE_INTEGER): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= max;

/** Throws a `ValidationError` listing `[path, message]` pairs, when there are any. */
export function refuse(problems: readonly (readonly [string, string] | null)[]): void {
  const issues = problems
    .filter((p): p is readonly [string, string] => p !== null)
    .map(([path, message]) => ({ path, message }));
  if (issues.length > 0) throw new ValidationError(issues);
}

/** Checks a type name and a ms range (as `TaskQuery` and `DeadFilter` hold them). */
export function filterProblems(
  filter: { type?: string | undefined; from?: number | undefined; to?: number | undefined },
  at = '',
): (readonly [string, string] | null)[] {
  const type = filter.type;
  return [
    type !== undefined && (type === '' || type.length > 128 || wellFormedProblem(type) !== null)
      ? [`${at}type`, 'must be 1-128 characters of well-formed Unicode']
      : null,
    filter.from !== undefined && !isCount(filter.from)
      ? [`${at}from`, 'must be a time in ms since the epoch']
      : null,
    filter.to !== undefined && !isCount(filter.to)
      ? [`${at}to`, 'must be a time in ms since the epoch']
      : null,
  ];
}
