/**
 * The run board between a host and its child (worker-host/pool/run-board.ts): what the writer
 * puts there the reader reads back, as it changes, through the one file descriptor both share
 * (the file has no path once created).
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LeasedTask } from '../../worker-host/pool/protocol.js';
import { RunBoard, RunBoardWriter } from '../../worker-host/pool/run-board.js';

function task(id: string, token = '0.0'): LeasedTask {
  return {
    token,
    lease: '3',
    timeoutMs: 5_000,
    task: { id, type: 'square', payload: { x: 1 }, attempt: 2, maxAttempts: 3, priority: 'high' },
  };
}

describe('run board', () => {
  it('reads back what the child holds and runs, as it changes; leaves no file behind', () => {
    const before = readdirSync('/dev/shm').filter((n) => n.startsWith('forklift-board'));
    const board = RunBoard.create(4);
    expect(readdirSync('/dev/shm').filter((n) => n.startsWith('forklift-board'))).toEqual(before);
    const writer = new RunBoardWriter(board.fd);
    try {
      expect(board.run()).toBeUndefined();
      expect(board.held()).toEqual([]);

      writer.holding([task('a', '0.0'), task('b', '0.1'), task('c', '0.2')]);
      writer.running(task('a', '0.0'), 1_000);
      expect(board.run()).toEqual({
        token: '0.0',
        lease: '3',
        timeoutMs: 5_000,
        attempt: 2,
        type: 'square',
        id: 'a',
        startedAt: 1_000,
      });
      expect(board.held().map((t) => [t.id, t.token])).toEqual([
        ['a', '0.0'],
        ['b', '0.1'],
        ['c', '0.2'],
      ]);

      writer.between();
      expect(board.run()).toBeUndefined();
      // A shorter held list replaces a longer one; the old lines after it are not read.
      writer.holding([task('b', '0.1')]);
      writer.flush();
      expect(board.held().map((t) => t.id)).toEqual(['b']);
      writer.running(task('b-with-a-much-longer-id-than-before', '0.1'), 2_000);
      expect(board.run()?.id).toBe('b-with-a-much-longer-id-than-before');
      writer.between();
      writer.running(task('c', '0.2'), 3_000);
      expect(board.run()).toMatchObject({ id: 'c', startedAt: 3_000 });
      writer.holding([]);
      writer.flush();
      expect(board.held()).toEqual([]);
    } finally {
      board.close();
    }
  });

  it('holds a full line of a large prefetch', () => {
    const board = RunBoard.create(101);
    const writer = new RunBoardWriter(board.fd);
    try {
      const line = Array.from({ length: 101 }, (_, i) => task(`task-${i}`, `3.${i}`));
      writer.holding(line);
      writer.running(line[0] as LeasedTask, 5);
      expect(board.held().map((t) => t.id)).toEqual(line.map((t) => t.task.id));
      expect(board.run()?.id).toBe('task-0');
    } finally {
      board.close();
    }
  });
});
