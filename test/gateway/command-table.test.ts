/**
 * The gateway's command table against the live Redis (`COMMAND DOCS`, `COMMAND`): every command
 * and subcommand is classified, admin and blocking commands are refused, and nothing that would
 * change a pooled connection's mode reaches Redis (raw HTTP and @upstash/redis, against a
 * throwaway redis-server: an unrefused SCRIPT DEBUG would poison its connections).
 */
import { Redis } from '@upstash/redis';
import { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COMMAND_TABLE,
  CONTAINER_COMMANDS,
  classify,
} from '../../worker-host/gateway/command-table.js';
import { CommandPolicy } from '../../worker-host/gateway/commands.js';
import {
  startTestGateway,
  startThrowawayRedis,
  type TestGateway,
  type ThrowawayRedis,
} from '../support/gateway.js';
import { TEST_REDIS_URL } from '../support/redis.js';
import { call } from './http-call.js';

/** `COMMAND DOCS`: every command, and its subcommands, upper-case. */
async function commandDocs(redis: IORedis): Promise<Map<string, string[]>> {
  const reply = (await redis.call('COMMAND', 'DOCS')) as unknown[];
  const out = new Map<string, string[]>();
  for (let i = 0; i < reply.length; i += 2) {
    const doc = reply[i + 1] as unknown[];
    const at = doc.indexOf('subcommands');
    const subs = at < 0 ? [] : (doc[at + 1] as unknown[]);
    out.set(
      String(reply[i]).toUpperCase(),
      subs.filter((_, j) => j % 2 === 0).map((s) => String(s).toUpperCase()),
    );
  }
  return out;
}

/** `COMMAND`: the flags of every command and `NAME|SUB`, upper-case. */
async function commandFlags(redis: IORedis): Promise<Map<string, string[]>> {
  const info = (await redis.call('COMMAND')) as unknown[][];
  const out = new Map<string, string[]>();
  for (const [name, , flags, , , , , , , subcommands] of info) {
    out.set(String(name).toUpperCase(), flags as string[]);
    for (const sub of (subcommands as unknown[][] | undefined) ?? []) {
      out.set(String(sub[0]).toUpperCase(), sub[2] as string[]);
    }
  }
  return out;
}

describe('the command table against the live Redis', () => {
  let direct: IORedis;
  let docs: Map<string, string[]>;
  let flags: Map<string, string[]>;
  beforeAll(async () => {
    direct = new IORedis(TEST_REDIS_URL);
    [docs, flags] = await Promise.all([commandDocs(direct), commandFlags(direct)]);
  });
  afterAll(() => direct.disconnect());

  it('classifies every command and subcommand of COMMAND DOCS explicitly', () => {
    expect(docs.size).toBeGreaterThan(200);
    const unclassified: string[] = [];
    for (const [name, subs] of docs) {
      if (classify(name, undefined) === null) unclassified.push(name);
      for (const full of subs) {
        const sub = full.split('|')[1];
        if (classify(name, sub) === null) unclassified.push(full);
      }
    }
    expect(unclassified).toEqual([]);
  });

  it('knows exactly which commands take a subcommand', () => {
    const containers = [...docs].filter(([, subs]) => subs.length > 0).map(([name]) => name);
    expect(new Set(containers)).toEqual(CONTAINER_COMMANDS);
  });

  it('refuses every command Redis flags admin or blocking (XREAD/XREADGROUP: with BLOCK)', () => {
    const loose: string[] = [];
    for (const [key, f] of flags) {
      const [name = '', sub] = key.split('|');
      const rule = classify(name, sub)?.rule;
      const blocking = f.includes('blocking') && name !== 'XREAD' && name !== 'XREADGROUP';
      if ((f.includes('admin') || blocking) && rule?.kind !== 'refused') loose.push(key);
      if (f.includes('write') && rule?.kind === 'run' && rule.audience === 'any') loose.push(key);
    }
    expect(loose).toEqual([]);
  });

  it('names only real commands among those it lets through', () => {
    const stale = [...COMMAND_TABLE]
      .filter(([key, rule]) => rule.kind === 'run' && !flags.has(key))
      .map(([key]) => key);
    expect(stale).toEqual([]);
  });

  it('refuses what it does not classify, before Redis sees it', () => {
    const policy = new CommandPolicy(null);
    expect(policy.check(['NoSuchCommand', 'x'], 'full')).toBe(
      "ERR unknown command 'NoSuchCommand': the REST gateway refuses commands it has not classified",
    );
    expect(policy.check(['script', 'nosuch'], 'full')).toBe(
      "ERR unknown subcommand 'nosuch' of 'script': the REST gateway refuses commands it has not classified",
    );
    expect(policy.check(['client', 'no-touch', 'on'], 'full')).toMatch(
      /^ERR command 'client' is not supported by the REST gateway/,
    );
  });
});

describe('commands that change a pooled connection', () => {
  let spare: ThrowawayRedis;
  let gw: TestGateway;
  beforeAll(async () => {
    spare = await startThrowawayRedis();
    gw = await startTestGateway({ redisUrl: spare.url, config: { poolSize: 2 } });
  });
  afterAll(async () => {
    await gw?.close();
    await spare?.kill();
  });

  const MODE_CHANGES = [
    ['SCRIPT', 'DEBUG', 'YES'],
    ['script', 'debug', 'sync'],
    ['CLIENT', 'REPLY', 'OFF'],
    ['CLIENT', 'TRACKING', 'ON'],
    ['CLIENT', 'NO-EVICT', 'ON'],
    ['RESET'],
    ['HELLO', '3'],
    ['SELECT', '1'],
    ['READONLY'],
    ['ASKING'],
  ];

  it('refuses SCRIPT DEBUG and every other mode change; the pool keeps working (raw HTTP)', async () => {
    for (let i = 0; i < 4; i++) {
      const a = await call(gw, '/', { body: ['SCRIPT', 'DEBUG', 'YES'], timeoutMs: 5_000 });
      expect(a).toMatchObject({
        status: 400,
        body: {
          error:
            "ERR command 'script|debug' is not supported by the REST gateway: it would change the state of a shared connection",
        },
      });
    }
    for (const command of MODE_CHANGES) {
      const a = await call(gw, '/', { body: command, timeoutMs: 5_000 });
      expect(a.status, command.join(' ')).toBe(400);
      expect((a.body as { error: string }).error, command.join(' ')).toMatch(
        /^ERR command '[a-z|-]+' is not supported by the REST gateway: it would change the state/,
      );
    }
    const pipe = await call(gw, '/pipeline', {
      body: [['SCRIPT', 'DEBUG', 'YES'], ['EVAL', 'return 7', 0], ['PING']],
      timeoutMs: 5_000,
    });
    expect(pipe.body).toEqual([
      { error: expect.stringMatching(/^ERR command 'script\|debug' is not supported/) },
      { result: 7 },
      { result: 'PONG' },
    ]);
    const tx = await call(gw, '/multi-exec', {
      body: [
        ['EVAL', 'return 1', 0],
        ['SCRIPT', 'DEBUG', 'YES'],
      ],
      timeoutMs: 5_000,
    });
    expect(tx).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^EXECABORT .*'script\|debug' is not supported/) },
    });
    // Every pooled connection still runs Lua normally.
    for (let i = 0; i < 4; i++) {
      expect(
        await call(gw, '/', { body: ['EVAL', 'return 1', 0], timeoutMs: 5_000 }),
      ).toMatchObject({ status: 200, body: { result: 1 } });
    }
  });

  it('refuses them through @upstash/redis too', async () => {
    const redis = new Redis({ url: gw.url, token: gw.token, enableTelemetry: false });
    for (let i = 0; i < 4; i++) {
      await expect(redis.exec(['SCRIPT', 'DEBUG', 'YES'])).rejects.toThrow(
        /'script\|debug' is not supported by the REST gateway/,
      );
    }
    await expect(redis.exec(['CLIENT', 'REPLY', 'OFF'])).rejects.toThrow(
      /'client' is not supported/,
    );
    for (let i = 0; i < 4; i++) expect(await redis.eval('return 2', [], [])).toBe(2);
  });
});
