/**
 * The scoreboard file a directly settling child writes before each run and the host reads when
 * it must act on the child (a real file, as in production).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LeasedTask } from '../../worker-host/pool/protocol.js';
import {
  makeScoreboardDir,
  readScoreboard,
  removeScoreboardDir,
  ScoreboardWriter,
} from '../../worker-host/pool/scoreboard.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeScoreboardDir(dir);
});

function scoreboardPath(): string {
  const dir = makeScoreboardDir();
  dirs.push(dir);
  return join(dir, 'slot-0-1');
}

const leased = (id: string, type = 'noop'): LeasedTask => ({
  token: '0.0',
  lease: '1',
  timeoutMs: 1_000,
  task: { id, type, payload: null, attempt: 1, maxAttempts: 3, priority: 'normal' },
});

describe('scoreboard', () => {
  it('reads back the run last written, with its sequence number and start time', () => {
    const path = scoreboardPath();
    const writer = new ScoreboardWriter(path);
    const before = Date.now();
    writer.write(leased('a-task-with-a-long-id', 'a-long-type-name'));
    writer.write(leased('b'));
    const entry = readScoreboard(path);
    expect(entry?.seq).toBe(2);
    expect(writer.seq).toBe(2);
    // The payload is left out: the host never needs it.
    expect(entry?.task).toEqual({
      ...leased('b'),
      task: { ...leased('b').task, payload: undefined },
    });
    expect(entry?.startedAt).toBeGreaterThanOrEqual(before);
    // The shorter second line left the tail of the first behind, after its newline.
    expect(readFileSync(path, 'utf8').split('\n')[1]).not.toBe('');

    writer.write(null);
    expect(readScoreboard(path)).toMatchObject({ seq: 3, task: null });
    writer.close();
  });

  it('answers undefined for a missing file and for a torn line', () => {
    const path = scoreboardPath();
    expect(readScoreboard(path)).toBeUndefined();
    // The start of one write and the end of another: the sequence numbers disagree.
    writeFileSync(path, '{"s":7,"task":null,"at":1,"e":6}\n');
    expect(readScoreboard(path)).toBeUndefined();
    writeFileSync(path, '{"s":7,"task":nu');
    expect(readScoreboard(path)).toBeUndefined();
  });
});
