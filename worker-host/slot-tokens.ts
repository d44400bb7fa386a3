/**
 * The host's view of its slot tokens: each child slot owns `1 + prefetch` tokens named
 * `<slot>.<k>`, and each token is
 *
 *   free ──claim sent──► claiming ──task leased──► busy ──outcome stored──► free
 *                            └──── no task ────► free       (or busy again with the next task)
 *
 * Only free tokens of slots that take work are offered to a claim; the Redis token list
 * mirrors this table (see dispatcher.ts).
 */
import type { SlotTask } from './pool/slot-line.js';

type TokenEntry =
  | { slot: number; state: 'free' }
  | { slot: number; state: 'claiming' }
  | { slot: number; state: 'busy'; task: SlotTask };

/** The token table of one host. */
export class SlotTokens {
  private readonly entries = new Map<string, TokenEntry>();

  constructor(slots: number, tokensPerSlot: number) {
    for (let slot = 0; slot < slots; slot++) {
      for (let k = 0; k < tokensPerSlot; k++) {
        this.entries.set(`${slot}.${k}`, { slot, state: 'free' });
      }
    }
  }

  /** Every token, in slot order. */
  all(): string[] {
    return [...this.entries.keys()];
  }

  /** The slot a token belongs to, or undefined for a token this host does not have. */
  slotOf(token: string): number | undefined {
    return this.entries.get(token)?.slot;
  }

  /** Marks `token` free; returns false for an unknown token. */
  free(token: string): boolean {
    const slot = this.slotOf(token);
    if (slot === undefined) return false;
    this.entries.set(token, { slot, state: 'free' });
    return true;
  }

  /** Marks tokens as offered to a claim in flight. */
  claiming(tokens: readonly string[]): void {
    for (const token of tokens) {
      const slot = this.slotOf(token);
      if (slot !== undefined) this.entries.set(token, { slot, state: 'claiming' });
    }
  }

  /** Marks `token` busy with `task`. */
  busy(token: string, task: SlotTask): void {
    const slot = this.slotOf(token);
    if (slot !== undefined) this.entries.set(token, { slot, state: 'busy', task });
  }

  /** Free tokens of slots for which `accepting(slot)` holds. */
  freeFor(accepting: (slot: number) => boolean): string[] {
    const free: string[] = [];
    for (const [token, entry] of this.entries) {
      if (entry.state === 'free' && accepting(entry.slot)) free.push(token);
    }
    return free;
  }

  /**
   * (task id, lease) of every busy token: the leases to renew; with `confirmedOnly`, without
   * tasks learnt from a scoreboard and not yet reported.
   */
  busyLeases({ confirmedOnly = false } = {}): [id: string, lease: string][] {
    const leases: [string, string][] = [];
    for (const entry of this.entries.values()) {
      if (entry.state === 'busy' && !(confirmedOnly && entry.task.unconfirmed))
        leases.push([entry.task.task.id, entry.task.lease]);
    }
    return leases;
  }

  /**
   * For the heartbeat: tokens free to take work (made present in Redis) and tokens that are
   * not (made absent); tokens of a claim in flight are in neither.
   */
  partition(accepting: (slot: number) => boolean): { free: string[]; busy: string[] } {
    const free: string[] = [];
    const busy: string[] = [];
    for (const [token, entry] of this.entries) {
      if (entry.state === 'free' && accepting(entry.slot)) free.push(token);
      else if (entry.state !== 'claiming') busy.push(token);
    }
    return { free, busy };
  }
}
