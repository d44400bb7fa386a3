/** BullMQ's sandboxed processor for the comparison: squares x, noting each start with the probe. */
import type { Job } from 'bullmq';
import { taskStarted } from '../probe.js';

export default async function square(job: Job<{ x: number }>): Promise<number> {
  taskStarted();
  return job.data.x * job.data.x;
}
