/**
 * The host's mirror of a child's line (worker-host/pool/slot-line.ts): reports that cross the
 * host's own messages, lazy reports that lease and finish the same task, and scoreboard entries
 * that are news or are not.
 */
import { describe, expect, it } from 'vitest';
import type { RunOutcome } from '../../worker-host/pool/protocol.js';
import type { SlotTask } from '../../worker-host/pool/slot-line.js';
import { SlotLine } from '../../worker-host/pool/slot-line.js';

const task = (id: string, token = '0.0', timeoutMs = 60_000): SlotTask => ({
  token,
  lease: '1',
  timeoutMs,
  task: { id, type: 'noop', payload: null, attempt: 1, maxAttempts: 3, priority: 'normal' },
});
const ok = (id: string): RunOutcome => ({ id, ms: 1, ok: true, resultJson: 'null' });
const ids = (all: SlotTask[]) => all.map((t) => t.task.id);

function lineOf(...tasks: SlotTask[]): { line: SlotLine; overdue: SlotTask[] } {
  const overdue: SlotTask[] = [];
  const line = new SlotLine((t) => overdue.push(t));
  for (const t of tasks) line.add(t);
  return { line, overdue };
}

describe('SlotLine', () => {
  it('mirrors a lazy report that leased a task and finished it too', () => {
    const { line } = lineOf(task('a'));
    const leased = line.mirrorLeased([task('b'), task('c')]);
    expect(leased.map((t) => t.task.id)).toEqual(['b', 'c']);
    const unknown: string[] = [];
    const finished = line.finish([ok('a'), ok('b')], (id) => unknown.push(id));
    expect(finished.map((f) => f.task.task.id)).toEqual(['a', 'b']);
    expect(unknown).toEqual([]);
    expect(line.head?.task.id).toBe('c');
    expect(line.holderOf('0.0')?.task.id).toBe('c');
    expect(line.finish([ok('zz')], (id) => unknown.push(id))).toEqual([]);
    expect(unknown).toEqual(['zz']);
  });

  it('puts the run a report names first, when messages crossed', () => {
    const { line } = lineOf(task('sent-by-host', '0.1'));
    line.mirrorLeased([task('leased-by-child', '0.0')]);
    line.syncHead(line.head, 'leased-by-child');
    expect(line.head?.task.id).toBe('leased-by-child');
    expect(ids(line.clear())).toEqual(['leased-by-child', 'sent-by-host']);
  });

  it('learns from the scoreboard only what the last report did not say', () => {
    const { line } = lineOf(task('a'));
    line.noteReport(5);
    // Written before the last report: no news.
    expect(line.applyScoreboard({ seq: 5, task: task('x'), startedAt: 1 })).toBeUndefined();
    expect(line.head?.task.id).toBe('a');
    // A run the child leased itself and has not reported: discovered, first, unconfirmed.
    const found = line.applyScoreboard({ seq: 6, task: task('x'), startedAt: 1_000 });
    expect(found?.task.id).toBe('x');
    expect(line.head).toBe(found);
    expect(found).toMatchObject({ unconfirmed: true, startedAt: 1_000 });
    // The report that follows confirms it rather than adding it twice.
    line.mirrorLeased([task('x')]);
    expect(found?.unconfirmed).toBe(false);
    expect(line.length).toBe(2);
    // A known run further back is moved first with the child's start time.
    line.mirrorLeased([task('y')]);
    expect(line.applyScoreboard({ seq: 7, task: task('y'), startedAt: 2_000 })).toBeUndefined();
    expect(line.head).toMatchObject({ task: { id: 'y' }, startedAt: 2_000 });
    // An idle scoreboard changes nothing.
    expect(line.applyScoreboard({ seq: 8, task: null, startedAt: 3_000 })).toBeUndefined();
    expect(line.head?.task.id).toBe('y');
  });

  it('times the head from the start time the scoreboard gives', async () => {
    const { line, overdue } = lineOf(task('a'));
    line.applyScoreboard({ seq: 1, task: task('late', '0.0', 50), startedAt: Date.now() - 40 });
    await new Promise((r) => setTimeout(r, 80));
    expect(overdue.map((t) => t.task.id)).toEqual(['late']);
    line.clear();
  });
});
