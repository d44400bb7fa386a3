/**
 * What the dashboard needs of a queue: the operator reads and actions of `QueueClient`. Both
 * mounts pass a `QueueClient` (over @upstash/redis at the edge, over ioredis on Node); tests may
 * pass the same. Declared as an interface so the dashboard depends on the operations, not on the
 * transport.
 */
import type { CancelResult } from '../queue-client.js';
import type {
  BulkProgress,
  DeadFilter,
  QueueOverview,
  TaskPage,
  TaskQuery,
  TaskSummary,
  WaitingList,
} from '../queue-views.js';
import type { TaskView } from '../task-record.js';
import type { TaskState } from '../task-state.js';

/** The outcome of running a delayed (or failed, awaiting its retry) task now. */
export type RunNowOutcome =
  | { outcome: 'queued' }
  | { outcome: 'not_found' }
  | { outcome: 'conflict'; state: TaskState };

/** A page of a task list with the list's length. */
export interface ListPage {
  total: number;
  tasks: TaskSummary[];
}

/** The queue operations the dashboard calls; each is one Redis call. */
export interface DashboardQueue {
  overview(): Promise<QueueOverview>;
  searchTasks(query: TaskQuery): Promise<TaskPage>;
  findByIdempotencyKey(key: string): Promise<TaskSummary | null>;
  getTask(id: string): Promise<TaskView | null>;
  listWaiting(list: WaitingList, offset: number, count: number): Promise<ListPage>;
  deadPage(filter: DeadFilter, offset: number, count: number): Promise<ListPage>;
  cancel(id: string): Promise<CancelResult>;
  runNow(id: string): Promise<RunNowOutcome>;
  retryDead(ids: readonly string[]): Promise<{ retried: number; notDead: string[] }>;
  deleteDead(ids: readonly string[]): Promise<{ deleted: number; notDead: string[] }>;
  retryDeadMatching(filter: DeadFilter, cursor: string | null): Promise<BulkProgress>;
  deleteDeadMatching(filter: DeadFilter, cursor: string | null): Promise<BulkProgress>;
}
