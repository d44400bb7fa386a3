import { describe, expect, it } from 'vitest';
import type { SlotTask } from '../../worker-host/pool/slot-line.js';
import { SlotTokens } from '../../worker-host/slot-tokens.js';

const task = (id: string): SlotTask => ({
  token: 'x',
  lease: '1',
  timeoutMs: 1_000,
  task: { id, type: 't', payload: null, attempt: 1, maxAttempts: 3, priority: 'normal' },
});

describe('slot tokens', () => {
  it('names 1 + prefetch tokens per slot', () => {
    expect(new SlotTokens(2, 3).all()).toEqual(['0.0', '0.1', '0.2', '1.0', '1.1', '1.2']);
  });

  it('offers only free tokens of slots that take work', () => {
    const tokens = new SlotTokens(2, 1);
    tokens.busy('0.0', task('a'));
    expect(tokens.freeFor(() => true)).toEqual(['1.0']);
    expect(tokens.freeFor((slot) => slot === 0)).toEqual([]);
    tokens.claiming(['1.0']);
    expect(tokens.freeFor(() => true)).toEqual([]);
    expect(tokens.free('1.0')).toBe(true);
    expect(tokens.free('9.9')).toBe(false);
    expect(tokens.freeFor(() => true)).toEqual(['1.0']);
  });

  it('lists the leases to renew and splits tokens for the heartbeat', () => {
    const tokens = new SlotTokens(3, 1);
    tokens.busy('0.0', task('a'));
    tokens.claiming(['1.0']);
    expect(tokens.busyLeases()).toEqual([['a', '1']]);
    // 1.0 has a claim in flight: neither present nor absent; slot 2 is not taking work.
    expect(tokens.partition((slot) => slot !== 2)).toEqual({ free: [], busy: ['0.0', '2.0'] });
    expect(tokens.partition(() => true)).toEqual({ free: ['2.0'], busy: ['0.0'] });
  });
});
