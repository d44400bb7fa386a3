import { describe, expect, it } from 'vitest';
import { strictLaneOrder, weightedLaneOrder } from '../../worker-host/engine/lane-order.js';

describe('lane order', () => {
  it('is always high, normal, low when strict', () => {
    expect(Array.from({ length: 5 }, () => strictLaneOrder.next())).toEqual(Array(5).fill('hnl'));
  });

  it('puts each lane first as often as its weight, evenly spread', () => {
    const order = weightedLaneOrder([6, 3, 1]);
    const firsts = Array.from({ length: 100 }, () => order.next()[0]);
    expect(firsts.filter((l) => l === 'h')).toHaveLength(60);
    expect(firsts.filter((l) => l === 'n')).toHaveLength(30);
    expect(firsts.filter((l) => l === 'l')).toHaveLength(10);
    // Every window of 10 claims gives the low lane its turn.
    for (let i = 0; i < 100; i += 10) expect(firsts.slice(i, i + 10)).toContain('l');
  });

  it('follows the first lane with the others in priority order', () => {
    const order = weightedLaneOrder([0, 0, 1]);
    expect(order.next()).toBe('lhn');
    expect(weightedLaneOrder([0, 1, 0]).next()).toBe('nhl');
  });

  it('refuses weights that are all zero', () => {
    expect(() => weightedLaneOrder([0, 0, 0])).toThrow(TypeError);
  });
});
