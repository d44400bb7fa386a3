/**
 * Turns a claimed task (the field/value pairs a claim returns: type, payload, priority,
 * attempts, maxAttempts, timeoutMs, claims) into what a child needs, checking each field the
 * way the record codec does. A field that does not decode is a CorruptRecordError naming it:
 * the owner of the slot sends such a task to dead.
 */
import { CorruptRecordError } from '../../shared/errors.js';
import { isPriority, type Priority } from '../../shared/priority.js';
import { pairsToObject } from '../../shared/task-record.js';
import type { LeasedTask, RunTask } from '../pool/protocol.js';
import type { ClaimedTask, RunEnd } from './host-scripts.js';

/** A claimed task, ready for a child. */
export interface Runnable {
  task: RunTask;
  lease: string;
  timeoutMs: number;
}

const COUNT = /^\d+$/;

/** Reads a claimed task. @throws CorruptRecordError naming every field that does not decode. */
export function toRunnable(id: string, fields: readonly string[]): Runnable {
  let type: string | undefined;
  let payloadText: string | undefined;
  let priority: string | undefined;
  let attempts: string | undefined;
  let maxAttempts: string | undefined;
  let timeoutMs: string | undefined;
  let claims: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1];
    switch (fields[i]) {
      case 'type':
        type = value;
        break;
      case 'payload':
        payloadText = value;
        break;
      case 'priority':
        priority = value;
        break;
      case 'attempts':
        attempts = value;
        break;
      case 'maxAttempts':
        maxAttempts = value;
        break;
      case 'timeoutMs':
        timeoutMs = value;
        break;
      case 'claims':
        claims = value;
        break;
    }
  }
  const problems: string[] = [];
  if (!type) problems.push('type is missing');
  if (!isPriority(priority))
    problems.push(`priority ${JSON.stringify(priority ?? null)} is not high, normal or low`);
  for (const [name, value] of [
    ['attempts', attempts],
    ['maxAttempts', maxAttempts],
    ['timeoutMs', timeoutMs],
    ['claims', claims],
  ] as const) {
    if (!COUNT.test(value ?? ''))
      problems.push(`${name} ${JSON.stringify(value ?? null)} is not a whole number`);
  }
  let payload: unknown;
  if (payloadText === undefined) problems.push('payload is missing');
  else {
    try {
      payload = JSON.parse(payloadText);
    } catch {
      problems.push('payload is not valid JSON');
    }
  }
  if (problems.length > 0) throw new CorruptRecordError(id, problems.join('; '));
  return {
    task: {
      id,
      type: type as string,
      payload,
      attempt: Number(attempts),
      maxAttempts: Number(maxAttempts),
      priority: priority as Priority,
    },
    lease: claims as string,
    timeoutMs: Number(timeoutMs),
  };
}

/** A leased record that does not decode: how to end it (dead, naming what was wrong). */
export interface CorruptClaim {
  end: RunEnd;
  error: string;
}

/**
 * A claimed task, decoded for a slot's line; or, when its record does not decode, the finish
 * run that sends it to dead with the decoder's message (whoever owns the slot ends it).
 */
export function toLeasedTask(claimed: ClaimedTask): LeasedTask | CorruptClaim {
  try {
    return { token: claimed.token, ...toRunnable(claimed.id, claimed.fields) };
  } catch (error) {
    const message = error instanceof CorruptRecordError ? error.message : String(error);
    return {
      error: message,
      end: {
        token: claimed.token,
        id: claimed.id,
        lease: pairsToObject(claimed.fields).claims ?? '0',
        kind: 'fatal',
        error: `CorruptRecordError: ${message}`,
      },
    };
  }
}
