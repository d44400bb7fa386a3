/**
 * The fault-injection tools themselves: the RESP reader, the proxy (pass-through, lost replies,
 * pause, refusal, cuts) and the private redis-server (SIGSTOP/SIGCONT, restart with an
 * append-only file). Everything runs against real redis-server processes of this file's own;
 * keys still carry the `t-proxy:` prefix.
 *
 * The lost-reply tests also pin down the fault the suite exists for: with its default options,
 * ioredis re-sends a command whose reply was lost when the connection dropped, so Redis runs it
 * twice.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisProxy, startRedisProxy } from './support/redis-proxy.js';
import { type FaultRedis, startFaultRedis } from './support/redis-server.js';
import { RespProtocolError, RespReader } from './support/resp-reader.js';

const P = 't-proxy:';

/** ioredis options under which a lost reply fails the call instead of re-sending it. */
const STRICT: RedisOptions = {
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  retryStrategy: () => null,
};

let redis: FaultRedis;
let proxy: RedisProxy;
/** Straight to the server, bypassing the proxy: what Redis really holds. */
let direct: Redis;
const clients: Redis[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  redis = await startFaultRedis();
  proxy = await startRedisProxy({ host: '127.0.0.1', port: redis.port });
  direct = client(redis.url);
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  for (const s of sockets) s.destroy();
  await proxy?.close();
  await redis?.kill();
});

/** An ioredis client whose connection errors are expected (the proxy cuts them). */
function client(url: string, options: RedisOptions = {}): Redis {
  const c = new Redis(url, options);
  c.on('error', () => {});
  clients.push(c);
  return c;
}

/** A raw TCP connection to the proxy. */
async function rawSocket(): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port: proxy.port });
  socket.on('error', () => {});
  sockets.push(socket);
  await once(socket, 'connect');
  return socket;
}

/** Reads `count` complete replies from `socket` and returns their bytes as text. */
function readReplies(socket: Socket, count: number): Promise<string[]> {
  const reader = new RespReader('reply');
  const replies: string[] = [];
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      for (const frame of reader.feed(chunk)) replies.push(frame.raw.toString('latin1'));
      if (replies.length >= count) {
        socket.off('data', onData);
        resolve(replies);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed after ${replies.length} replies`)));
  });
}

/** A command in RESP, as a client sends it. */
function resp(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Matches a command by name (case-insensitively) and, optionally, its first argument. */
const command =
  (name: string, key?: string) =>
  (argv: string[]): boolean =>
    argv[0]?.toUpperCase() === name && (key === undefined || argv[1] === key);

/**
 * Resolves on the next `name` event. (`events.once` would reject on an `error` event, which a
 * cut connection may emit first.)
 */
function next(emitter: Redis, name: string): Promise<void> {
  return new Promise((resolve) => emitter.once(name, () => resolve()));
}

/** Reports whether `promise` has settled yet. */
function watch(promise: Promise<unknown>): { settled: boolean } {
  const state = { settled: false };
  promise.then(
    () => {
      state.settled = true;
    },
    () => {
      state.settled = true;
    },
  );
  return state;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('RespReader', () => {
  const requests = Buffer.concat([
    resp('SET', `${P}bin`, Buffer.from([0, 13, 10, 36, 42, 255])),
    Buffer.from('PING\r\n'),
    Buffer.from('\r\n'),
    resp('GET', `${P}bin`),
    Buffer.from('*0\r\n'),
    Buffer.from('ECHO  hi\n'),
  ]);
  const replies = [
    '+OK\r\n',
    '-ERR wrong\r\n',
    ':42\r\n',
    '$-1\r\n',
    '*-1\r\n',
    '$0\r\n\r\n',
    '$6\r\na\r\n$*b\r\n',
    '*0\r\n',
    '*3\r\n:1\r\n*2\r\n$1\r\nx\r\n*1\r\n$-1\r\n*0\r\n',
    '%2\r\n+a\r\n_\r\n+b\r\n#t\r\n',
    '|1\r\n+ttl\r\n:3\r\n:7\r\n',
    '*2\r\n|1\r\n+a\r\n+b\r\n,1.5\r\n(12345678901234567890\r\n',
    '>2\r\n+invalidate\r\n~1\r\n$1\r\nk\r\n',
    '=8\r\ntxt:a\r\nb\r\n',
    '!8\r\nERR x\r\ny\r\n',
  ];
  const replyStream = Buffer.from(replies.join(''), 'latin1');

  /** Feeds `data` in chunks of the sizes `sizes()` yields and collects the frames. */
  function split(mode: 'request' | 'reply', data: Buffer, sizes: () => number) {
    const reader = new RespReader(mode);
    const frames = [];
    for (let at = 0; at < data.length; ) {
      const size = Math.max(1, sizes());
      frames.push(...reader.feed(data.subarray(at, at + size)));
      at += size;
    }
    return frames.map((f) => ({
      raw: f.raw.toString('latin1'),
      type: f.type,
      args: f.args.map((a) => a.toString('latin1')),
    }));
  }

  it('finds the same request frames wherever the chunks split', () => {
    const whole = split('request', requests, () => requests.length);
    expect(whole.map((f) => [f.type, f.args])).toEqual([
      ['*', ['SET', `${P}bin`, '\x00\r\n$*\xff']],
      ['inline', ['PING']],
      ['inline', []],
      ['*', ['GET', `${P}bin`]],
      ['*', []],
      ['inline', ['ECHO', 'hi']],
    ]);
    expect(whole.map((f) => f.raw).join('')).toBe(requests.toString('latin1'));
    expect(split('request', requests, () => 1)).toEqual(whole);
    for (let i = 0; i < 20; i++) {
      expect(split('request', requests, () => Math.floor(Math.random() * 12))).toEqual(whole);
    }
  });

  it('finds the same reply frames wherever the chunks split, RESP2 and RESP3', () => {
    const whole = split('reply', replyStream, () => replyStream.length);
    expect(whole.map((f) => f.raw)).toEqual(replies);
    expect(whole.map((f) => f.type)).toEqual([
      '+',
      '-',
      ':',
      '$',
      '*',
      '$',
      '$',
      '*',
      '*',
      '%',
      ':',
      '*',
      '>',
      '=',
      '!',
    ]);
    expect(split('reply', replyStream, () => 1)).toEqual(whole);
    for (let i = 0; i < 20; i++) {
      expect(split('reply', replyStream, () => Math.floor(Math.random() * 12))).toEqual(whole);
    }
  });

  it('rejects bytes that are not RESP', () => {
    expect(() => new RespReader('reply').feed(Buffer.from('?x\r\n'))).toThrow(RespProtocolError);
    expect(() => new RespReader('reply').feed(Buffer.from('$x\r\n'))).toThrow(RespProtocolError);
    expect(() => new RespReader('reply').feed(Buffer.from('$1\r\nab\r\n'))).toThrow(
      RespProtocolError,
    );
  });
});

describe('pass-through', () => {
  it('plain commands, a pipeline of 100 INCRs and a 1 MB binary value', async () => {
    const c = client(proxy.url);
    expect(await c.set(`${P}a`, 'hello')).toBe('OK');
    expect(await c.get(`${P}a`)).toBe('hello');

    const pipeline = c.pipeline();
    for (let i = 0; i < 100; i++) pipeline.incr(`${P}n`);
    const results = await pipeline.exec();
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => [null, i + 1]));

    const big = randomBytes(1024 * 1024);
    expect(await c.set(`${P}big`, big)).toBe('OK');
    expect((await c.getBuffer(`${P}big`))?.equals(big)).toBe(true);
    expect(await direct.strlen(`${P}big`)).toBe(big.length);
  });

  it('nested script replies, maps and transactions, over RESP3 and RESP2', async () => {
    const script = "return {1, {'a', {2, {}}, 'b'}, redis.call('get', KEYS[1])}";
    await direct.hset(`${P}h`, 'f', 'v', 'g', 'w');
    for (const protocol of [3, 2] as const) {
      const c = client(proxy.url, { protocol });
      expect(await c.eval(script, 1, `${P}missing`)).toEqual([1, ['a', [2, []], 'b'], null]);
      expect(await c.hgetall(`${P}h`)).toEqual({ f: 'v', g: 'w' });
      expect(await c.multi().set(`${P}m`, protocol).incr(`${P}m`).get(`${P}m`).exec()).toEqual([
        [null, 'OK'],
        [null, protocol + 1],
        [null, String(protocol + 1)],
      ]);
    }
  });

  it('raw bytes split anywhere, inline commands, and the command count', async () => {
    const seen: [string[], number][] = [];
    const unsubscribe = proxy.onCommand((argv, id) => seen.push([argv, id]));
    const before = proxy.commands();
    const socket = await rawSocket();
    const bytes = Buffer.concat([
      resp('SET', `${P}raw`, 'v\r\nw'),
      Buffer.from('ping\r\n'),
      resp('GET', `${P}raw`),
    ]);
    const replies = readReplies(socket, 3);
    // A few bytes at a time, yielding in between so that the chunks reach the proxy apart.
    for (let at = 0; at < bytes.length; at += 3) {
      socket.write(bytes.subarray(at, at + 3));
      await sleep(1);
    }
    expect(await replies).toEqual(['+OK\r\n', '+PONG\r\n', '$4\r\nv\r\nw\r\n']);
    unsubscribe();
    expect(proxy.commands() - before).toBe(3);
    expect(seen.map(([argv]) => argv)).toEqual([
      ['SET', `${P}raw`, 'v\r\nw'],
      ['ping'],
      ['GET', `${P}raw`],
    ]);
    expect(new Set(seen.map(([, id]) => id)).size).toBe(1);
  });
});

describe('dropReply', () => {
  it('loses the reply and cuts: the call fails, yet Redis ran the command', async () => {
    const c = client(proxy.url, STRICT);
    await c.ping();
    proxy.dropReply(command('INCR', `${P}x`));
    // Pipelined on one connection: the SET's reply, which comes first, is delivered.
    const set = c.set(`${P}before`, '1');
    const incr = c.incr(`${P}x`);
    expect(await set).toBe('OK');
    await expect(incr).rejects.toThrow(/closed/i);
    expect(await direct.get(`${P}x`)).toBe('1');
    expect(c.status).toBe('end');
  });

  it('with then: keep, swallows the next `times` matching replies and keeps the connection', async () => {
    const socket = await rawSocket();
    // biome-ignore lint/suspicious/noThenProperty: the option is named `then` on purpose.
    proxy.dropReply(command('INCR', `${P}k`), { times: 2, then: 'keep' });
    const replies = readReplies(socket, 2);
    socket.write(
      Buffer.concat([
        Buffer.from('PING\r\n'),
        resp('INCR', `${P}k`),
        resp('incr', `${P}k`),
        resp('INCR', `${P}k`),
      ]),
    );
    expect(await replies).toEqual(['+PONG\r\n', ':3\r\n']);
    expect(await direct.get(`${P}k`)).toBe('3');
  });

  it('with default ioredis options, the lost INCR is re-sent on reconnect and runs twice', async () => {
    const c = client(proxy.url);
    await c.ping();
    const incrs: number[] = [];
    const unsubscribe = proxy.onCommand((argv, id) => {
      if (command('INCR', `${P}twice`)(argv)) incrs.push(id);
    });
    proxy.dropReply(command('INCR', `${P}twice`));
    // The caller sees one successful INCR, which answers 2.
    expect(await c.incr(`${P}twice`)).toBe(2);
    unsubscribe();
    expect(await direct.get(`${P}twice`)).toBe('2');
    expect(incrs).toHaveLength(2);
    expect(incrs[0]).not.toBe(incrs[1]);
  });

  it('with default ioredis options, the commands in flight behind the lost reply run twice too', async () => {
    const c = client(proxy.url);
    await c.ping();
    proxy.dropReply(command('INCR', `${P}lost`));
    // Sent back to back on one connection: the first reply is delivered, the second lost, and
    // the cut comes before the third reply; ioredis re-sends the second and the third.
    const replies = await Promise.all([
      c.incr(`${P}first`),
      c.incr(`${P}lost`),
      c.incr(`${P}behind`),
    ]);
    expect(replies).toEqual([1, 2, 2]);
    expect(await direct.mget(`${P}first`, `${P}lost`, `${P}behind`)).toEqual(['1', '2', '2']);
  });

  it('maxRetriesPerRequest: 0 or no retryStrategy fails the call; autoResend off alone never settles it', async () => {
    const noRetries = client(proxy.url, { maxRetriesPerRequest: 0 });
    const noReconnect = client(proxy.url, { retryStrategy: () => null });
    const noResend = client(proxy.url, { autoResendUnfulfilledCommands: false });
    await Promise.all([noRetries.ping(), noReconnect.ping(), noResend.ping()]);

    proxy.dropReply(command('INCR', `${P}r`));
    await expect(noRetries.incr(`${P}r`)).rejects.toThrow(/max retries/i);
    proxy.dropReply(command('INCR', `${P}r`));
    await expect(noReconnect.incr(`${P}r`)).rejects.toThrow(/closed/i);

    // ioredis drops the unfulfilled command on reconnect without rejecting it.
    proxy.dropReply(command('INCR', `${P}r`));
    const reconnected = next(noResend, 'ready');
    const state = watch(noResend.incr(`${P}r`));
    await reconnected;
    expect(await noResend.ping()).toBe('PONG');
    await sleep(200);
    expect(state.settled).toBe(false);
    expect(await direct.get(`${P}r`)).toBe('3');
  });

  it('with default ioredis options, a lost reply inside a MULTI/EXEC aborts instead of re-sending', async () => {
    const c = client(proxy.url);
    await c.ping();
    proxy.dropReply(command('EXEC'));
    await expect(c.multi().incr(`${P}tx`).incr(`${P}tx`).exec()).rejects.toThrow(/abort/i);
    expect(await direct.get(`${P}tx`)).toBe('2');
    expect(await c.incr(`${P}tx`)).toBe(3);
  });
});

describe('pause, refuse and cutAll', () => {
  it('pause() hangs calls and new connections until resume()', async () => {
    const c = client(proxy.url);
    await c.set(`${P}p`, 'v');
    proxy.pause();
    try {
      const get = c.get(`${P}p`);
      const fresh = client(proxy.url, { lazyConnect: true });
      const connected = fresh.connect();
      const states = [watch(get), watch(connected)];
      await sleep(200);
      expect(states.map((s) => s.settled)).toEqual([false, false]);
      proxy.resume();
      expect(await get).toBe('v');
      await connected;
      expect(await fresh.get(`${P}p`)).toBe('v');
    } finally {
      proxy.resume();
    }
  });

  it('refuse(true) cuts existing connections and fails new ones until refuse(false)', async () => {
    const existing = client(proxy.url, STRICT);
    await existing.ping();
    const ended = next(existing, 'end');
    proxy.refuse(true);
    try {
      await ended;
      await expect(existing.ping()).rejects.toThrow(/closed/i);
      const fresh = client(proxy.url, { ...STRICT, lazyConnect: true });
      await expect(fresh.connect()).rejects.toThrow();
    } finally {
      proxy.refuse(false);
    }
    const later = client(proxy.url, STRICT);
    expect(await later.ping()).toBe('PONG');
  });

  it('cutAll() drops every connection; a default client reconnects, a strict one does not', async () => {
    const reconnecting = client(proxy.url);
    const strict = client(proxy.url, STRICT);
    await Promise.all([reconnecting.ping(), strict.ping()]);
    const ended = next(strict, 'end');
    const reconnected = next(reconnecting, 'ready');
    proxy.cutAll();
    await ended;
    await expect(strict.ping()).rejects.toThrow(/closed/i);
    await reconnected;
    expect(await reconnecting.ping()).toBe('PONG');
  });
});

describe('FaultRedis', () => {
  it('stop() freezes the server until cont()', async () => {
    const c = client(redis.url);
    await c.set(`${P}frozen`, 'v');
    redis.stop();
    try {
      const get = c.get(`${P}frozen`);
      const state = watch(get);
      await sleep(200);
      expect(state.settled).toBe(false);
      redis.cont();
      expect(await get).toBe('v');
    } finally {
      redis.cont();
    }
  });

  it('restart() keeps append-only data; kill() ends the process and removes its directory', async () => {
    const durable = await startFaultRedis({ appendonly: true });
    try {
      const c = client(durable.url);
      await c.set(`${P}durable`, 'kept');
      const firstPid = durable.pid;
      await durable.restart();
      expect(durable.pid).not.toBe(firstPid);
      expect(() => process.kill(firstPid, 0)).toThrow();
      // The same client reconnects to the same port.
      expect(await c.get(`${P}durable`)).toBe('kept');
      expect(durable.dir && existsSync(durable.dir)).toBe(true);
    } finally {
      await durable.kill();
    }
    expect(() => process.kill(durable.pid, 0)).toThrow();
    expect(existsSync(durable.dir ?? '')).toBe(false);
  });
});
