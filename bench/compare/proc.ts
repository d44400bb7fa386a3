/**
 * What a process tree costs, read from /proc (Linux): CPU time and resident memory of a root
 * process and every descendant, sampled on a timer so that the peak of the whole tree and the
 * CPU spent from a given moment can be read afterwards.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

/** One process's CPU (µs, own plus reaped children) and resident bytes; undefined once gone. */
function readProcess(pid: number): { cpuMicros: number; rssBytes: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the name, 0-based from 'state': utime 11, stime 12, cutime 13, cstime 14, rss 21.
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return {
      cpuMicros: (ticks * 1_000_000) / TICKS_PER_SECOND,
      rssBytes: Number(fields[21]) * PAGE_BYTES,
    };
  } catch {
    return undefined;
  }
}

/** The pids of `root` and all its descendants (from /proc/<pid>/task/<tid>/children). */
export function treePids(root: number): number[] {
  const pids: number[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop() as number;
    pids.push(pid);
    let threads: string[];
    try {
      threads = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of threads) {
      try {
        const children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
        if (children) for (const child of children.split(' ')) pending.push(Number(child));
      } catch {
        // The thread ended meanwhile.
      }
    }
  }
  return pids;
}

/** CPU (µs, including reaped children) and resident bytes of a whole tree, now. */
export function readTree(root: number): { cpuMicros: number; rssBytes: number } {
  let cpuMicros = 0;
  let rssBytes = 0;
  for (const pid of treePids(root)) {
    const p = readProcess(pid);
    if (!p) continue;
    cpuMicros += p.cpuMicros;
    rssBytes += p.rssBytes;
  }
  return { cpuMicros, rssBytes };
}

/** CPU time (µs) of one process, e.g. redis-server. */
export function processCpuMicros(pid: number): number {
  return readProcess(pid)?.cpuMicros ?? Number.NaN;
}

/** One sample of a tree. */
export interface TreeSample {
  /** process.hrtime.bigint() when taken, as ns. */
  at: bigint;
  cpuMicros: number;
  rssBytes: number;
  /** CPU of the extra process (redis-server) at the same moment. */
  otherCpuMicros: number;
}

/**
 * Samples a process tree (and one other process, Redis) every `everyMs` until stopped. The
 * sampler itself costs about 0.1 ms of the driver's CPU per sample.
 */
export class TreeSampler {
  private readonly samples: TreeSample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly root: number,
    private readonly other: number,
    everyMs = 20,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  /** Takes one last sample now and stops (once); returns every sample. */
  stop(): TreeSample[] {
    if (this.timer === undefined) return this.samples;
    clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return this.samples;
  }

  private sample(): void {
    const tree = readTree(this.root);
    this.samples.push({
      at: process.hrtime.bigint(),
      ...tree,
      otherCpuMicros: processCpuMicros(this.other),
    });
  }
}

/** The last sample taken at or before `at` (the first one when none is). */
export function sampleAt(samples: readonly TreeSample[], at: bigint): TreeSample {
  let found = samples[0] as TreeSample;
  for (const s of samples) {
    if (s.at > at) break;
    found = s;
  }
  return found;
}
