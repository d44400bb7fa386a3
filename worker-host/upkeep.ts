/**
 * A host's periodic Redis work, off the hot path: lease renewal of the tasks its children hold
 * (every lease/3, one call for all of them, only while there are any) and the maintenance tick
 * (heartbeat, reap of tasks whose host is gone, promotion of due delayed tasks: three calls
 * every `tickMs`). The heartbeat carries the host's vital signs (children, RSS) for the dashboard
 * and, inside the same script, samples the queue's history and sweeps the search index.
 *
 * A host is alive while its heartbeat is younger than its TTL, twice the lease plus a tick: a
 * Redis pause or restart of up to twice the lease takes no task from a live host, and a host that
 * died has its tasks handed on after at most that long.
 *
 * Every upkeep call also tells the host's `RedisContact` (health.ts) how it went, so readiness
 * and the outage clock know when Redis last answered without a call of their own.
 */
import type { Logger } from 'pino';
import type { EngineScripts, HostVitals } from './engine/host-scripts.js';
import type { RedisContact } from './health.js';

/** Options of `startUpkeep`. */
export interface UpkeepOptions {
  scripts: EngineScripts;
  /** (id, lease) of every task the children hold. */
  leases: () => [id: string, lease: string][];
  /** True while a child still holds task `id` (a lease lost after its run ended is not news). */
  holds: (id: string) => boolean;
  /** Every slot token of the host (a host presumed dead comes back with them all free). */
  tokens: readonly string[];
  leaseMs: number;
  tickMs: number;
  /** The host's TTL in `hosts`: twice the lease plus a tick. */
  hostTtlMs: number;
  log: Logger;
  /** Keeps track of a call in flight (so shutdown can wait for it). */
  track: (promise: Promise<unknown>) => void;
  /** Told when Redis answers an upkeep call (and of each successful heartbeat) or fails to. */
  contact?: RedisContact | undefined;
  /**
   * The host's vital signs (live children, RSS), read before each heartbeat and recorded with it
   * for the dashboard; a failure to read them beats without them.
   */
  vitals?: (() => Promise<HostVitals>) | undefined;
}

/** A host's TTL for a lease and tick: twice the lease plus one tick. */
export function hostTtlFor(leaseMs: number, tickMs: number): number {
  return 2 * leaseMs + tickMs;
}

/** Starts the timers and runs a first tick at once; returns a function that stops them. */
export function startUpkeep(options: UpkeepOptions): () => void {
  const { scripts, log, contact } = options;
  const observed = <T>(call: Promise<T>): Promise<T> => contact?.observe(call) ?? call;
  // Set by the returned stop function. A tick that began before it sends nothing after it: a
  // heartbeat that reached Redis after the host unregistered would register it again, a ghost
  // host alive for a whole TTL. (Calls already sent run before the unregister, which follows
  // them on the same connection.)
  let stopped = false;

  async function renewLeases(): Promise<void> {
    const leases = options.leases();
    if (leases.length === 0 || stopped) return;
    try {
      const lost = (await observed(scripts.renew(leases, options.leaseMs))).filter(options.holds);
      if (lost.length > 0) {
        log.warn(
          { taskIds: lost },
          'leases lost while running (the tasks were handed to another host); their outcomes will not be stored',
        );
      }
    } catch (error) {
      log.warn({ err: error }, 'lease renewal failed');
    }
  }

  async function maintain(): Promise<void> {
    const vitals = await (options.vitals?.() ?? Promise.resolve({})).catch(() => ({}));
    if (stopped) return;
    try {
      const [beat, reaped] = await Promise.all([
        observed(scripts.heartbeat(options.hostTtlMs, options.tokens, vitals)).then((beat) => {
          contact?.beat();
          return beat;
        }),
        observed(scripts.reap(options.hostTtlMs)),
        observed(scripts.promote()),
      ]);
      if (!beat.wasAlive) {
        log.warn(
          { hostTtlMs: options.hostTtlMs },
          'this host was presumed dead (no heartbeat for its whole TTL) and has registered again; tasks it held may run elsewhere',
        );
      }
      if (reaped.requeued + reaped.dead > 0)
        log.warn(reaped, 'recovered tasks whose worker host is gone');
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
    stopped = true;
    for (const timer of timers) clearInterval(timer);
  };
}
