/**
 * A host's vital signs for its heartbeat (and so for the dashboard): how many children are
 * live, and the resident memory of the host and its children.
 *
 * Cheap enough for every maintenance tick: the host's own RSS is `process.memoryUsage.rss()`
 * (no heap walk), each child's is the `VmRSS` line of `/proc/<pid>/status` (one small read per
 * child, on Linux). Where `/proc` cannot be read (another OS, a child that just exited) the
 * child adds nothing, so the figure is then the host's alone plus whatever children could be read.
 */
import { readFile } from 'node:fs/promises';
import type { HostVitals } from './engine/host-scripts.js';

/** The resident memory of process `pid` in bytes, from /proc, or 0 when it cannot be read. */
async function rssOf(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  } catch {
    return 0;
  }
}

/** The vital signs of this host with children `childPids`. */
export async function hostVitals(childPids: readonly number[]): Promise<Required<HostVitals>> {
  const children = await Promise.all(childPids.map(rssOf));
  return {
    children: childPids.length,
    rssBytes: children.reduce((sum, rss) => sum + rss, process.memoryUsage.rss()),
  };
}
