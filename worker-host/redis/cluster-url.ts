/**
 * How a `REDIS_URL` names a Redis Cluster: the scheme `redis+cluster://` (or
 * `rediss+cluster://` for TLS) and one or more seed nodes separated by commas.
 *
 * ```
 * redis+cluster://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000
 * rediss+cluster://default:PASSWORD@clustercfg.my-cache.use1.cache.amazonaws.com:6379
 * ```
 *
 * Credentials are written as for `redis://` (user info, percent-encoded) and are used on every
 * node; a port defaults to 6379; the path may only name database 0 (a cluster has no other);
 * query options are passed to each node's connection as ioredis does for `redis://` URLs. One
 * seed is enough (the client learns the rest of the cluster from it); more seeds let a client
 * start while one of them is down. Any other URL (`redis://`, `rediss://`) names one Redis.
 */

/** True when `url` names a Redis Cluster (`redis+cluster://` or `rediss+cluster://`). */
export function isClusterUrl(url: string): boolean {
  return CLUSTER_SCHEME.test(url);
}

/** A cluster URL, parsed. */
export interface ClusterUrl {
  /** The seed nodes, in the order written. */
  seeds: { host: string; port: number }[];
  /** True for `rediss+cluster://`. */
  tls: boolean;
  /** ACL user name (decoded), if any. */
  username: string | undefined;
  /** Password (decoded), if any. */
  password: string | undefined;
  /** Query options, as ioredis reads them from a `redis://` URL (`family` as a number). */
  options: Record<string, string | number>;
}

const CLUSTER_SCHEME = /^rediss?\+cluster:\/\//i;

/** scheme (1), authority (2), path, query and fragment (3). */
const PARTS = /^(rediss?)\+cluster:\/\/([^/?#]*)(.*)$/is;

/**
 * Parses a cluster URL.
 * @throws TypeError saying what is wrong, without quoting the URL (it may hold a password).
 */
export function parseClusterUrl(url: string): ClusterUrl {
  const parts = PARTS.exec(url);
  if (!parts) throw new TypeError('is not a redis+cluster:// or rediss+cluster:// URL');
  const [, scheme = '', authority = '', tail = ''] = parts;
  const at = authority.lastIndexOf('@');
  const userInfo = at >= 0 ? authority.slice(0, at + 1) : '';
  const list = authority.slice(at + 1);
  if (list === '') throw new TypeError('names no seed node (write host:port[,host:port...])');
  let first: URL;
  try {
    // The credentials, path and query read as those of a single-node URL of the first seed.
    first = new URL(`redis://${userInfo}${list.split(',')[0]}${tail}`);
  } catch {
    throw new TypeError(
      'is not a valid URL (write a password’s reserved characters, such as / # ? @ : and commas, as %XX)',
    );
  }
  if (!/^\/?0?$/.test(first.pathname)) {
    throw new TypeError('may only name database 0 (a Redis Cluster has no other)');
  }
  const seeds = list.split(',').map((seed) => {
    let parsed: URL;
    try {
      parsed = new URL(`redis://${seed}`);
    } catch {
      throw new TypeError(`has an invalid seed node ${JSON.stringify(seed)}`);
    }
    if (seed === '' || parsed.username || parsed.pathname !== '' || parsed.search) {
      throw new TypeError(`has an invalid seed node ${JSON.stringify(seed)} (write host:port)`);
    }
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    return { host, port: parsed.port === '' ? 6379 : Number(parsed.port) };
  });
  const options: Record<string, string | number> = {};
  first.searchParams.forEach((value, key) => {
    const family = Number.parseInt(value, 10);
    options[key] = key === 'family' && !Number.isNaN(family) ? family : value;
  });
  return {
    seeds,
    tls: scheme.toLowerCase() === 'rediss',
    username: first.username ? decodeURIComponent(first.username) : undefined,
    password: first.password ? decodeURIComponent(first.password) : undefined,
    options,
  };
}
