/**
 * The typed producer: `enqueue('square', { x: 3 })` checks the payload type at compile time
 * from the task declarations and validates it again at run time with the same zod schema,
 * before one script call writes it.
 */
import {
  type EnqueueRequest,
  type PrepareOptions,
  prepareBatch,
  prepareEnqueue,
} from './enqueue-request.js';
import { ValidationError } from './errors.js';
import type { EnqueueResult, QueueClient } from './queue-client.js';
import type { PayloadInput, TaskRegistry } from './task-definition.js';

/** Per-task options of a typed enqueue (the request fields other than type and payload). */
export type EnqueueOptions = Omit<EnqueueRequest, 'type' | 'payload'>;

/** One entry of a typed batch. */
export type TypedRequest<Reg extends TaskRegistry> = {
  [K in keyof Reg & string]: { type: K; payload: PayloadInput<Reg, K> } & EnqueueOptions;
}[keyof Reg & string];

/** A producer bound to a registry and a queue. */
export interface Producer<Reg extends TaskRegistry> {
  /**
   * Validates and enqueues one task.
   * @throws ValidationError naming each bad field; nothing is written.
   */
  enqueue<K extends keyof Reg & string>(
    type: K,
    payload: PayloadInput<Reg, K>,
    options?: EnqueueOptions,
  ): Promise<EnqueueResult>;
  /**
   * Validates every request, then enqueues them all in one atomic call (at most 1,000).
   * @throws ValidationError (paths prefixed with the index); nothing is written.
   */
  enqueueMany(requests: readonly TypedRequest<Reg>[]): Promise<EnqueueResult[]>;
}

/**
 * Binds a QueueClient to a task registry.
 *
 * @example
 * const producer = createProducer(client, tasks);
 * const { id } = await producer.enqueue('square', { x: 12 }, { priority: 'high' });
 */
export function createProducer<Reg extends TaskRegistry>(
  client: QueueClient,
  registry: Reg,
  options: PrepareOptions = {},
): Producer<Reg> {
  return {
    async enqueue(type, payload, enqueueOptions = {}) {
      const prepared = prepareEnqueue(registry, { ...enqueueOptions, type, payload }, options);
      if (!prepared.ok) throw new ValidationError(prepared.issues);
      const [result] = await client.enqueue([prepared.spec]);
      if (!result) throw new Error('enqueue returned no result');
      return result;
    },
    async enqueueMany(requests) {
      const prepared = prepareBatch(registry, requests, options);
      if (!prepared.ok) throw new ValidationError(prepared.issues);
      return client.enqueue(prepared.specs);
    },
  };
}
