/** The five consumers compared, each a script in consumers/ started with a mode. */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SystemName } from './systems.js';

/** A compared consumer. */
export interface ConsumerKind {
  /**
   * Stable id, used in JSON and as a ratio key: forklift-strict, forklift-prefetch16,
   * bullmq-sandboxed, bullmq-inprocess, bare-pool; with a baseline tree also
   * forklift-strict@baseline and forklift-prefetch16@baseline.
   */
  id: string;
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

/**
 * The compared consumers: every one of CONSUMERS, and with `baselineDir` (a checkout of an
 * earlier Forklift, e.g. a git worktree of the previous main with node_modules linked) its two
 * Forklift consumers as well, run from that tree, so a change is judged against the code before
 * it in the same run.
 */
export function consumersFor(baselineDir: string | undefined): ConsumerKind[] {
  if (baselineDir === undefined) return [...CONSUMERS];
  const baseline = CONSUMERS.filter((c) => c.system === 'forklift').map((c) => ({
    ...c,
    id: `${c.id}@baseline`,
    name: `${c.name} @baseline`,
    script: resolve(baselineDir, 'bench/compare/consumers/forklift.ts'),
  }));
  return [...CONSUMERS, ...baseline];
}

/** The peers every row is compared with. */
export const PEERS = ['bullmq-sandboxed', 'bullmq-inprocess', 'bare-pool'] as const;
