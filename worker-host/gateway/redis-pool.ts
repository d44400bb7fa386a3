/**
 * The gateway's Redis connections.
 *
 * - A few shared connections serve `/` and `/pipeline`, round-robin. A pipeline's commands all
 *   go to one connection, so they run in order; pipelines of different requests may interleave,
 *   which is allowed (a pipeline is not atomic).
 * - `/multi-exec` leases a connection exclusively (created on demand up to a cap, then reused),
 *   so no other request's command can fall between MULTI and EXEC.
 * - Each SSE subscription gets a connection of its own.
 * - One control connection never carries a request's command: the script watchdog sends
 *   SCRIPT KILL / FUNCTION KILL on it, which works while the others wait behind a busy script.
 *
 * Every connection talks RESP2 with buffer replies and integers as exact digits. Nothing is
 * queued while Redis is away (`enableOfflineQueue: false`), nothing is retried or re-sent after
 * a reconnect (a write must never run twice): a request during an outage fails at once with
 * {@link RedisUnavailableError}, and the connections reconnect by themselves.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/** Redis cannot be reached (or the connection broke); answered 503. */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

/** How the pool is sized and where it connects. */
export interface RedisPoolOptions {
  redisUrl: string;
  /** Shared connections for `/` and `/pipeline`. */
  poolSize: number;
  /** Most connections leased to transactions at once. */
  maxTransactionConnections: number;
  logger: Logger;
}

/** How long a new connection may take to become ready. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** Options for every gateway connection; see the module comment. */
export function connectionOptions(role: string): RedisOptions {
  return {
    protocol: 2,
    stringNumbers: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
    connectionName: `forklift-gateway-${role}`,
    disableClientInfo: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1_000),
  };
}

/** Waits for `ready`; rejects on the first error, `end`, or after the connect timeout. */
export function whenReady(conn: Redis): Promise<void> {
  if (conn.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      conn.off('ready', onReady);
      conn.off('error', onError);
      conn.off('end', onEnd);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new RedisUnavailableError(`Redis is unavailable: ${error.message}`));
    };
    const onEnd = () => onError(new Error('connection closed'));
    const timer = setTimeout(() => onError(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
    conn.on('ready', onReady);
    conn.on('error', onError);
    conn.on('end', onEnd);
  });
}

/** Owns every Redis connection of one gateway. */
export class RedisPool {
  private readonly shared: Redis[];
  private readonly control: Redis;
  private next = 0;
  private readonly idle: Redis[] = [];
  private readonly leased = new Set<Redis>();
  private readonly waiters: Array<{ resolve: (c: Redis) => void; reject: (e: unknown) => void }> =
    [];
  private readonly dedicated = new Set<Redis>();
  private creating = 0;
  private closed = false;
  private lastWarning = '';

  constructor(private readonly options: RedisPoolOptions) {
    this.shared = Array.from({ length: options.poolSize }, () => this.create('shared'));
    // Made now, not on first use, and ready as soon as it connects (no INFO ready check, which
    // Redis answers BUSY while a script runs): it must be usable exactly when Redis is stuck.
    this.control = this.create('control', { enableReadyCheck: false });
  }

  private create(role: string, extra: RedisOptions = {}): Redis {
    const conn = new Redis(this.options.redisUrl, { ...connectionOptions(role), ...extra });
    conn.on('error', (error: Error) => {
      // One line per distinct failure, not one per reconnect attempt of every connection.
      if (error.message !== this.lastWarning) {
        this.lastWarning = error.message;
        this.options.logger.warn({ err: error.message, role }, 'redis connection error');
      }
    });
    conn.on('ready', () => {
      if (this.lastWarning !== '') {
        this.lastWarning = '';
        this.options.logger.info({ role }, 'redis connection ready again');
      }
    });
    return conn;
  }

  /** Resolves `true` once a shared connection is ready, `false` after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.shared.some((c) => c.status === 'ready')) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  /**
   * A ready shared connection for one command or one pipeline.
   * @throws {RedisUnavailableError} when none is ready.
   */
  sharedConnection(): Redis {
    const n = this.shared.length;
    for (let i = 0; i < n; i++) {
      const conn = this.shared[(this.next + i) % n] as Redis;
      if (conn.status === 'ready') {
        this.next = (this.next + i + 1) % n;
        return conn;
      }
    }
    throw new RedisUnavailableError(
      `Redis is unavailable (connection ${this.shared[0]?.status ?? 'missing'})`,
    );
  }

  /** The control connection (for SCRIPT KILL / FUNCTION KILL only); it may not be ready. */
  controlConnection(): Redis {
    return this.control;
  }

  /**
   * Lends a ready connection that nobody else uses until {@link release}.
   * @throws {RedisUnavailableError} when a new connection cannot be made ready.
   */
  async lease(): Promise<Redis> {
    if (this.closed) throw new RedisUnavailableError('the gateway is shutting down');
    while (this.idle.length > 0) {
      const conn = this.idle.pop() as Redis;
      if (conn.status === 'ready') return this.lend(conn);
      conn.disconnect();
    }
    if (this.leased.size + this.creating < this.options.maxTransactionConnections) {
      this.creating++;
      const conn = this.create('transaction');
      try {
        await whenReady(conn);
      } catch (error) {
        conn.disconnect();
        throw error;
      } finally {
        this.creating--;
      }
      return this.lend(conn);
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private lend(conn: Redis): Redis {
    this.leased.add(conn);
    return conn;
  }

  /**
   * Returns a leased connection. Pass `reusable: false` when its state is unknown (an
   * interrupted transaction): it is then closed instead of lent again.
   */
  release(conn: Redis, reusable: boolean): void {
    this.leased.delete(conn);
    if (!reusable || this.closed || conn.status !== 'ready') {
      conn.disconnect();
      const waiter = this.waiters.shift();
      if (waiter) this.lease().then(waiter.resolve, waiter.reject);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(this.lend(conn));
    else this.idle.push(conn);
  }

  /**
   * A new connection of its own (for a subscription), ready. Close it with
   * {@link closeDedicated}.
   */
  async dedicatedConnection(role: string): Promise<Redis> {
    if (this.closed) throw new RedisUnavailableError('the gateway is shutting down');
    const conn = this.create(role);
    this.dedicated.add(conn);
    try {
      await whenReady(conn);
      return conn;
    } catch (error) {
      this.closeDedicated(conn);
      throw error;
    }
  }

  /** Closes a connection from {@link dedicatedConnection}; safe to call twice. */
  closeDedicated(conn: Redis): void {
    if (!this.dedicated.delete(conn)) return;
    conn.disconnect();
  }

  /** Quits every connection (QUIT when connected, else disconnect); idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      waiter.reject(new RedisUnavailableError('the gateway is shutting down'));
    }
    const all = [...this.shared, this.control, ...this.idle, ...this.leased, ...this.dedicated];
    this.idle.length = 0;
    this.leased.clear();
    this.dedicated.clear();
    await Promise.all(
      all.map(async (conn) => {
        try {
          if (conn.status === 'ready') await conn.quit();
          else conn.disconnect();
        } catch {
          conn.disconnect();
        }
      }),
    );
  }
}
