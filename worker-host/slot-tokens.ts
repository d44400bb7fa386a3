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

/** One token's entry, changed in place (no allocation per state change on the hot path). */
interface TokenEntry {
  readonly slot: number;
  state: 'free' | 'claiming' | 'busy';
  /** The task it is busy with (state 'busy'). */
  task: SlotTask | undefined;
}

/** The token table of one host. */
export class SlotTokens {
  private readonly entries = new Map<string, TokenEntry>();

  constructor(slots: number, tokensPerSlot: number) {
    for (let slot = 0; slot < slots; slot++) {
      for (let k = 0; k < tokensPerSlot; k++) {
        this.entries.set(`${slot}.${k}`, { slot, state: 'free', task: undefined });
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
    const entry = this.entries.get(token);
    if (!entry) return false;
    entry.state = 'free';
    entry.task = undefined;
    return true;
  }

  /** Marks tokens as offered to a claim in flight. */
  claiming(tokens: readonly string[]): void {
    for (const token of tokens) {
      const entry = this.entries.get(token);
      if (entry) {
        entry.state = 'claiming';
        entry.task = undefined;
      }
    }
  }

  /** Marks `token` busy with `task`. */
  busy(token: string, task: SlotTask): void {
    const entry = this.entries.get(token);
    if (entry) {
      entry.state = 'busy';
      entry.task = task;
    }
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
      const { task } = entry;
      if (entry.state === 'busy' && task && !(confirmedOnly && task.unconfirmed))
        leases.push([task.task.id, task.lease]);
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
