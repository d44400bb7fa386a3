/**
 * What the dashboard needs of a queue: the operator reads and actions of `QueueClient`, each one
 * Redis call. Both mounts pass a `QueueClient` (over @upstash/redis at the edge, over ioredis on
 * Node).
 */
import type { QueueClient, RunNowResult } from '../queue-client.js';
import type { TaskSummary } from '../queue-views.js';

/** The queue operations the dashboard calls. */
export type DashboardQueue = Pick<
  QueueClient,
  | 'overview'
  | 'searchTasks'
  | 'findByIdempotencyKey'
  | 'getTask'
  | 'listWaiting'
  | 'deadPage'
  | 'cancel'
  | 'runNow'
  | 'retryDead'
  | 'deleteDead'
  | 'retryDeadMatching'
  | 'deleteDeadMatching'
>;

/** The outcome of running a task now. */
export type RunNowOutcome = RunNowResult;

/** A page of a task list with the list's length. */
export interface ListPage {
  total: number;
  tasks: TaskSummary[];
}
