/**
 * Turns a claimed record (the flat HGETALL a claim returns) into what a child needs, on the
 * host's hot path: a hand-written read of the eight fields that matter, with every check the
 * full codec makes on them. Anything unexpected falls back to the full zod codec, whose
 * CorruptRecordError names the bad fields.
 */
import { isPriority, type Priority } from '../../shared/priority.js';
import { decodeTaskRecord } from '../../shared/task-record.js';
import type { RunTask } from '../pool/protocol.js';

/** A claimed task, ready for a child. */
export interface Runnable {
  task: RunTask;
  lease: string;
  timeoutMs: number;
}

const COUNT = /^\d+$/;

/** Reads a claimed record. @throws CorruptRecordError when the record cannot be decoded. */
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
  let payload: unknown;
  let ok =
    !!type &&
    payloadText !== undefined &&
    isPriority(priority) &&
    COUNT.test(attempts ?? '') &&
    COUNT.test(maxAttempts ?? '') &&
    COUNT.test(timeoutMs ?? '') &&
    COUNT.test(claims ?? '');
  if (ok) {
    try {
      payload = JSON.parse(payloadText as string);
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    // Let the full codec say precisely what is wrong (it throws); if it finds nothing, the
    // record is valid in ways this fast path does not cover, so use its reading.
    const record = decodeTaskRecord(id, fields);
    return {
      task: {
        id,
        type: record.type,
        payload: record.payload,
        attempt: record.attempts,
        maxAttempts: record.maxAttempts,
        priority: record.priority,
      },
      lease: String(record.claims),
      timeoutMs: record.timeoutMs,
    };
  }
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
