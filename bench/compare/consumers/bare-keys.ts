/** The bare pool's Redis lists: the three lanes and the token list of the original design. */
export function bareKeys(queue: string) {
  const prefix = `bare:{${queue}}:`;
  return {
    high: `${prefix}high_task_queue`,
    normal: `${prefix}task_queue`,
    low: `${prefix}low_task_queue`,
    tokens: `${prefix}worker_queue`,
  };
}
