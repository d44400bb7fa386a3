/** The five consumers compared, each a script in consumers/ started with a mode. */
import { fileURLToPath } from 'node:url';
import type { SystemName } from './systems.js';

/** A compared consumer. */
export interface ConsumerKind {
  /** Stable id, used in JSON and as a ratio key. */
  id:
    | 'forklift-strict'
    | 'forklift-prefetch16'
    | 'bullmq-sandboxed'
    | 'bullmq-inprocess'
    | 'bare-pool';
  /** Human name for the table. */
  name: string;
  system: SystemName;
  /** Absolute path of the consumer script. */
  script: string;
  /** BENCH_MODE passed to it. */
  mode: string;
}

const script = (name: string) => fileURLToPath(new URL(`./consumers/${name}.ts`, import.meta.url));

/** Every consumer, in the order the table lists them. */
export const CONSUMERS: readonly ConsumerKind[] = [
  {
    id: 'forklift-strict',
    name: 'Forklift strict (prefetch 0)',
    system: 'forklift',
    script: script('forklift'),
    mode: 'strict',
  },
  {
    id: 'forklift-prefetch16',
    name: 'Forklift --prefetch 16',
    system: 'forklift',
    script: script('forklift'),
    mode: 'prefetch16',
  },
  {
    id: 'bullmq-sandboxed',
    name: 'BullMQ sandboxed, c=2',
    system: 'bullmq',
    script: script('bullmq'),
    mode: 'sandboxed',
  },
  {
    id: 'bullmq-inprocess',
    name: 'BullMQ in-process, c=50',
    system: 'bullmq',
    script: script('bullmq'),
    mode: 'inprocess',
  },
  {
    id: 'bare-pool',
    name: 'bare BLPOP + fork pool of 2',
    system: 'bare',
    script: script('bare-pool'),
    mode: 'bare',
  },
];

/** The peers every row is compared with. */
export const PEERS = ['bullmq-sandboxed', 'bullmq-inprocess', 'bare-pool'] as const;
