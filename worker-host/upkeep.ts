/**
 * A host's periodic Redis work, off the hot path: lease renewal of its running tasks (every
 * lease/3, one call for all of them, only while it has any) and the maintenance tick
 * (heartbeat with token sync, reap of expired leases of any host, promotion of due delayed
 * tasks: three calls every `tickMs`).
 */
import type { Logger } from 'pino';
import type { HostScripts } from './engine/host-scripts.js';
import type { SlotTokens } from './slot-tokens.js';

/** Options of `startUpkeep`. */
export interface UpkeepOptions {
  scripts: HostScripts;
  tokens: SlotTokens;
  /** Whether a slot takes work (its tokens count as free capacity). */
  accepting: (slot: number) => boolean;
  leaseMs: number;
  tickMs: number;
  log: Logger;
  /** Keeps track of a call in flight (so shutdown can wait for it). */
  track: (promise: Promise<unknown>) => void;
  /** Brings the token table up to date before a renewal (runs children did not report yet). */
  beforeRenew?: () => void;
}

/** Starts the timers and runs a first tick at once; returns a function that stops them. */
export function startUpkeep(options: UpkeepOptions): () => void {
  const { scripts, tokens, log } = options;

  async function renewLeases(): Promise<void> {
    options.beforeRenew?.();
    const leases = tokens.busyLeases();
    if (leases.length === 0) return;
    try {
      const lost = new Set(await scripts.renew(leases, options.leaseMs));
      if (lost.size === 0) return;
      // A run that ended while the renewal was in flight is not a lost lease.
      // Nor is one learnt from a scoreboard that had just finished (unconfirmed).
      const stillHeld = tokens
        .busyLeases({ confirmedOnly: true })
        .filter(([id, lease]) => lost.has(id) && leases.some(([i, l]) => i === id && l === lease));
      if (stillHeld.length > 0) {
        log.warn(
          { taskIds: stillHeld.map(([id]) => id) },
          'leases lost while running (reaped elsewhere); outcomes will not be stored',
        );
      }
    } catch (error) {
      log.warn({ err: error }, 'lease renewal failed');
    }
  }

  async function maintain(): Promise<void> {
    const { free, busy } = tokens.partition(options.accepting);
    try {
      const [, reaped] = await Promise.all([
        scripts.heartbeat(options.tickMs * 3, free, busy),
        scripts.reap(),
        scripts.promote(),
      ]);
      if (reaped.requeued + reaped.dead > 0)
        log.warn(reaped, 'recovered tasks whose lease expired');
    } catch (error) {
      log.warn({ err: error }, 'maintenance tick failed');
    }
  }

  const timers = [
    setInterval(() => options.track(renewLeases()), Math.max(100, Math.floor(options.leaseMs / 3))),
    setInterval(() => options.track(maintain()), options.tickMs),
  ];
  for (const timer of timers) timer.unref();
  options.track(maintain());
  return () => {
    for (const timer of timers) clearInterval(timer);
  };
}
