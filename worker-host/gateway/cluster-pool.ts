/**
 * The gateway's connections to a Redis Cluster (`redis+cluster://` / `rediss+cluster://`).
 *
 * - One ioredis `Cluster` carries `/` and `/pipeline`: it routes each command to the master of
 *   its key's slot and follows MOVED / ASK (and TRYAGAIN, CLUSTERDOWN) redirections, which are
 *   safe to follow because Redis did not run the command. It holds one connection per master.
 *   As on one Redis, nothing is queued while the cluster is unreachable and nothing is re-sent
 *   after a lost connection (`retryDelayOnFailover: 0`, `maxRetriesPerRequest: 0`): a write
 *   must never run twice. The slot table is refreshed on MOVED and on a lost node, not
 *   periodically (as the host's connections do).
 * - `/multi-exec` leases a plain connection to the master of the transaction's slot (created on
 *   demand, at most `maxTransactionConnections` at once over all masters, reused per master).
 * - Each SSE subscription gets a plain connection of its own to one master: classic pub/sub is
 *   broadcast to every node of a cluster, so a subscriber on any node sees every PUBLISH.
 * - One control connection per master, which never carries a request's command: the script
 *   watchdog sends SCRIPT KILL / FUNCTION KILL on the one of the node running the script.
 *
 * Node connections use the options of the single-Redis pool (redis-pool.ts): RESP2, buffer
 * replies, integers as exact digits, the cluster URL's credentials and TLS on every node.
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { parseClusterUrl } from '../redis/cluster-url.js';
import { redactText, redisUrlSecrets } from '../redis/redact.js';
import {
  CONNECT_TIMEOUT_MS,
  connectionOptions,
  type RedisPoolOptions,
  RedisUnavailableError,
  whenReady,
} from './redis-pool.js';

/** `host:port` of a node connection, as the cluster's slot table names nodes. */
export function nodeKey(conn: Redis): string {
  return `${conn.options.host}:${conn.options.port}`;
}

/**
 * The node connections read integers as exact digits (`stringNumbers`), but ioredis reads the
 * slot table (CLUSTER SLOTS) on a duplicate of one and needs its slot numbers as numbers: its
 * duplicates get `stringNumbers: false`.
 */
function readsSlotsAsNumbers(node: Redis): void {
  const duplicate = node.duplicate.bind(node) as (override: Partial<RedisOptions>) => Redis;
  (node as { duplicate: (override?: Partial<RedisOptions>) => Redis }).duplicate = (
    override = {},
  ) => duplicate({ ...override, stringNumbers: false });
}

/** Owns every connection of a gateway in front of a Redis Cluster. */
export class ClusterPool {
  /** Routes single commands and pipelines by slot. */
  readonly cluster: Cluster;
  private readonly nodeOptions: RedisOptions;
  private readonly controls = new Map<string, Redis>();
  private readonly idle = new Map<string, Redis[]>();
  private readonly leased = new Set<Redis>();
  private readonly dedicated = new Set<Redis>();
  private readonly waiters: Array<() => void> = [];
  private creating = 0;
  private closed = false;
  private lastWarning = '';
  private readonly logger: Logger;
  /** The URL's credentials, masked in every error text and log line (redact.ts). */
  private readonly secrets: string[];

  /** @throws TypeError when the cluster URL does not parse (the message does not quote it). */
  constructor(private readonly options: RedisPoolOptions) {
    this.logger = options.logger;
    this.secrets = redisUrlSecrets(options.redisUrl);
    const parsed = parseClusterUrl(options.redisUrl);
    this.nodeOptions = {
      ...parsed.options,
      ...(parsed.username === undefined ? {} : { username: parsed.username }),
      ...(parsed.password === undefined ? {} : { password: parsed.password }),
      ...(parsed.tls ? { tls: {} } : {}),
    };
    const clusterOptions: ClusterOptions = {
      redisOptions: { ...this.nodeOptions, ...connectionOptions('shared') },
      scaleReads: 'master',
      enableOfflineQueue: false,
      enableAutoPipelining: false,
      clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1_000),
      slotsRefreshInterval: 0,
      slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
      // A lost connection may have run the command: never re-send it.
      retryDelayOnFailover: 0,
      // Redirections and CLUSTERDOWN / TRYAGAIN replies mean Redis did not run it.
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 100,
      ...(parsed.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
      lazyConnect: true,
    };
    this.cluster = new Cluster(parsed.seeds, clusterOptions);
    this.cluster.on('+node', readsSlotsAsNumbers);
    this.cluster.on('error', (error: Error & { lastNodeError?: Error }) =>
      this.warn(error.lastNodeError ?? error, 'cluster'),
    );
    this.cluster.on('node error', (error: Error) => this.warn(error, 'node'));
    this.cluster.on('ready', () => {
      if (this.lastWarning !== '') {
        this.lastWarning = '';
        this.logger.info({ role: 'cluster' }, 'redis connection ready again');
      }
      // Made before any script runs, so that they are connected when a node turns BUSY.
      if (!this.closed) for (const node of this.masters()) this.controlFor(node);
    });
    this.cluster.connect().catch(() => {
      // Reported by the 'error' listener; the cluster keeps trying.
    });
  }

  private warn(error: Error, role: string): void {
    // One line per distinct failure, not one per reconnect attempt of every connection.
    if (error.message === this.lastWarning) return;
    this.lastWarning = error.message;
    this.logger.warn(
      { err: redactText(error.message, this.secrets), role },
      'redis connection error',
    );
  }

  /** A new connection's failure to become ready, its text masked. */
  private unavailable(error: unknown): RedisUnavailableError {
    const text = error instanceof Error ? error.message : String(error);
    return new RedisUnavailableError(redactText(text, this.secrets));
  }

  private create(host: string, port: number, role: string, extra: RedisOptions = {}): Redis {
    const conn = new Redis({
      ...this.nodeOptions,
      ...connectionOptions(role),
      ...extra,
      host,
      port,
    });
    conn.on('error', (error: Error) => this.warn(error, role));
    return conn;
  }

  /** Resolves `true` once the cluster is ready, `false` after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.cluster.status === 'ready') return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  /**
   * The cluster, to send a command through.
   * @throws {RedisUnavailableError} when it is not ready.
   */
  router(): Cluster {
    if (this.cluster.status !== 'ready') {
      throw new RedisUnavailableError(`Redis Cluster is unavailable (${this.cluster.status})`);
    }
    return this.cluster;
  }

  /** The cluster's connections to its masters now. */
  masters(): Redis[] {
    return this.cluster.status === 'ready' ? this.cluster.nodes('master') : [];
  }

  /**
   * The cluster's connection to the master serving `slot` now (any master for `null`).
   * @throws {RedisUnavailableError} when the cluster is not ready or knows no master.
   */
  nodeFor(slot: number | null): Redis {
    const masters = this.router().nodes('master');
    const key = slot === null ? undefined : this.cluster.slots[slot]?.[0];
    const found =
      (key === undefined ? undefined : masters.find((m) => nodeKey(m) === key)) ??
      (slot === null ? (masters.find((m) => m.status === 'ready') ?? masters[0]) : undefined);
    if (found === undefined) {
      throw new RedisUnavailableError(
        `Redis Cluster is unavailable: no master serves slot ${slot ?? 'any'}`,
      );
    }
    return found;
  }

  /** Asks the cluster for its slot table again (after a MOVED seen outside the router). */
  refresh(): void {
    this.cluster.refreshSlotsCache();
  }

  /** The control connection to the node `conn` talks to (SCRIPT KILL / FUNCTION KILL only). */
  controlFor(conn: Redis): Redis {
    const key = nodeKey(conn);
    let control = this.controls.get(key);
    if (control === undefined) {
      // No INFO ready check, which Redis answers BUSY while a script runs.
      control = this.create(String(conn.options.host), Number(conn.options.port), 'control', {
        enableReadyCheck: false,
      });
      this.controls.set(key, control);
    }
    return control;
  }

  /**
   * Lends a ready connection to the master of `slot` (any master for `null`), which nobody
   * else uses until {@link release}.
   * @throws {RedisUnavailableError} when the cluster is unavailable or the connection fails.
   */
  async lease(slot: number | null): Promise<Redis> {
    if (this.closed) throw new RedisUnavailableError('the gateway is shutting down');
    const node = this.nodeFor(slot);
    const key = nodeKey(node);
    const idle = this.idle.get(key) ?? [];
    while (idle.length > 0) {
      const conn = idle.pop() as Redis;
      if (conn.status === 'ready') return this.lend(conn);
      conn.disconnect();
    }
    if (this.leased.size + this.creating >= this.options.maxTransactionConnections) {
      // Wait for any release, then try again (the slot's master may have changed meanwhile).
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      return this.lease(slot);
    }
    this.creating++;
    const conn = this.create(String(node.options.host), Number(node.options.port), 'transaction');
    try {
      await whenReady(conn);
    } catch (error) {
      conn.disconnect();
      throw this.unavailable(error);
    } finally {
      this.creating--;
    }
    return this.lend(conn);
  }

  private lend(conn: Redis): Redis {
    this.leased.add(conn);
    return conn;
  }

  /** Returns a leased connection; `reusable: false` closes it instead of keeping it. */
  release(conn: Redis, reusable: boolean): void {
    this.leased.delete(conn);
    if (!reusable || this.closed || conn.status !== 'ready') conn.disconnect();
    else {
      const key = nodeKey(conn);
      const idle = this.idle.get(key) ?? [];
      idle.push(conn);
      this.idle.set(key, idle);
    }
    this.waiters.shift()?.();
  }

  /** A new ready connection of its own to one master (for a subscription). */
  async dedicatedConnection(role: string): Promise<Redis> {
    if (this.closed) throw new RedisUnavailableError('the gateway is shutting down');
    const node = this.nodeFor(null);
    const conn = this.create(String(node.options.host), Number(node.options.port), role);
    this.dedicated.add(conn);
    try {
      await whenReady(conn);
      return conn;
    } catch (error) {
      this.closeDedicated(conn);
      throw this.unavailable(error);
    }
  }

  /** Closes a connection from {@link dedicatedConnection}; safe to call twice. */
  closeDedicated(conn: Redis): void {
    if (!this.dedicated.delete(conn)) return;
    conn.disconnect();
  }

  /** Quits every connection; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter();
    const all = [
      ...this.controls.values(),
      ...[...this.idle.values()].flat(),
      ...this.leased,
      ...this.dedicated,
    ];
    this.controls.clear();
    this.idle.clear();
    this.leased.clear();
    this.dedicated.clear();
    const quit = async (conn: Redis | Cluster) => {
      try {
        if (conn.status === 'ready') await conn.quit();
        else conn.disconnect();
      } catch {
        conn.disconnect();
      }
    };
    await Promise.all([...all.map(quit), quit(this.cluster)]);
  }
}
