/**
 * The REDIS_URL convention for a Redis Cluster (`redis+cluster://` and `rediss+cluster://`
 * with comma-separated seed nodes): how it parses, how connections are configured from it,
 * how the CLI checks it, and that its password is masked as a `redis://` one is. No servers.
 */
import { describe, expect, it } from 'vitest';
import { CliError } from '../../worker-host/cli/cli-error.js';
import { readCliEnv } from '../../worker-host/cli/env.js';
import { isClusterUrl, parseClusterUrl } from '../../worker-host/redis/cluster-url.js';
import { clusterOptions } from '../../worker-host/redis/connect.js';
import { redactRedisUrl, redactText, redisUrlSecrets } from '../../worker-host/redis/redact.js';
import { resolveWorkerOptions } from '../../worker-host/worker-options.js';

describe('cluster URLs', () => {
  it('names a cluster only with the +cluster schemes', () => {
    expect(isClusterUrl('redis+cluster://h:1')).toBe(true);
    expect(isClusterUrl('rediss+cluster://h:1')).toBe(true);
    expect(isClusterUrl('redis://h:1')).toBe(false);
    expect(isClusterUrl('rediss://h:1,h:2')).toBe(false);
  });

  it('parses seeds, credentials, TLS and query options', () => {
    expect(parseClusterUrl('redis+cluster://10.0.0.1:7000,10.0.0.2,[::1]:7002')).toEqual({
      seeds: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 6379 },
        { host: '::1', port: 7002 },
      ],
      tls: false,
      username: undefined,
      password: undefined,
      options: {},
    });
    expect(parseClusterUrl('rediss+cluster://app:p%40ss%2Cw@h:6380/0?family=6')).toMatchObject({
      seeds: [{ host: 'h', port: 6380 }],
      tls: true,
      username: 'app',
      password: 'p@ss,w',
      options: { family: 6 },
    });
  });

  it('refuses what a cluster cannot be, without quoting the URL', () => {
    const refused = (url: string) => {
      try {
        parseClusterUrl(url);
      } catch (error) {
        expect((error as Error).message).not.toContain('secret');
        return (error as Error).message;
      }
      throw new Error(`accepted ${url}`);
    };
    expect(refused('redis+cluster://:secret@h:1/2')).toMatch(/database 0/);
    expect(refused('redis+cluster://:secret@')).toMatch(/no seed node/);
    expect(refused('redis+cluster://:secret@h:1,,h:2')).toMatch(/invalid seed node ""/);
    expect(refused('redis+cluster://:sec/ret@h:1')).toMatch(/not a valid URL/);
  });

  it('configures every node like a single connection: RESP2, masters, credentials, TLS', () => {
    const options = clusterOptions('rediss+cluster://u:pw@h:1,h:2', { name: 'n' });
    expect(options).toMatchObject({
      scaleReads: 'master',
      slotsRefreshInterval: 0,
      redisOptions: {
        connectionName: 'n',
        protocol: 2,
        maxRetriesPerRequest: 3,
        username: 'u',
        password: 'pw',
        tls: {},
      },
    });
    expect(clusterOptions('redis+cluster://h:1', { name: 'w', blocking: true })).toMatchObject({
      redisOptions: { maxRetriesPerRequest: null },
    });
  });

  it('masks the password as in a redis:// URL, keeping the seed list', () => {
    const url = 'redis+cluster://app:s3cret-pw@10.0.0.1:7000,10.0.0.2:7000?x=1';
    expect(redactRedisUrl(url)).toBe('redis+cluster://app:***@10.0.0.1:7000,10.0.0.2:7000?x=1');
    expect(redisUrlSecrets(url)).toEqual(['s3cret-pw']);
    expect(redactText(`cannot reach ${url}; giving up`)).toBe(
      'cannot reach redis+cluster://app:***@10.0.0.1:7000,10.0.0.2:7000?x=1; giving up',
    );
    expect(redactRedisUrl('rediss+cluster://:pw%2Fx@h:1,h:2')).toBe(
      'rediss+cluster://:***@h:1,h:2',
    );
  });

  it('the CLI and the worker options take a cluster URL; a bad one is named, masked', () => {
    const env = (REDIS_URL: string) => readCliEnv({ REDIS_URL });
    expect(env('redis+cluster://:pw@h:1,h:2').redisUrl).toBe('redis+cluster://:pw@h:1,h:2');
    expect(() => env('redis+cluster://:secret-pw@h:1/5')).toThrow(CliError);
    expect(() => env('redis+cluster://:secret-pw@h:1/5')).toThrow(
      'REDIS_URL="redis+cluster://:***@h:1/5" may only name database 0',
    );
    expect(() => env('http://h:1')).toThrow(/redis\+cluster:\/\//);
    expect(resolveWorkerOptions({ redisUrl: 'redis+cluster://h:1' }).redisUrl).toBe(
      'redis+cluster://h:1',
    );
  });
});
