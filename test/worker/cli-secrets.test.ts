/**
 * The `forklift` CLI keeps secrets to itself.
 *
 * - `stats`, `status`, `enqueue`, `dead` and `worker`, given a REDIS_URL with a distinctive
 *   password (in the user info, as a `?password=` option, or as a lone user name), fail fast
 *   with a non-zero exit and a message naming the host and port, and print the password
 *   nowhere: against a port where nothing listens, and against a private redis-server that
 *   refuses the credentials (`--requirepass` another password).
 * - `forklift dev` puts no token on wrangler's command line: the invocation it builds
 *   (`prepareWrangler`) carries them in a private vars file, and a real `forklift dev` run
 *   (against a password-protected Redis) serves the edge with those tokens while no process
 *   of wrangler's has a token or the password in its command line or environment, prints
 *   neither, and deletes the vars file when it stops.
 *
 * Real Redis servers, real processes; nothing is mocked.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dotenvLine, prepareWrangler } from '../../worker-host/cli/dev-command.js';
import { redactRedisUrl, redactText, redisUrlSecrets } from '../../worker-host/redis/redact.js';
import { ROOT, runForklift, TSX } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { deleteNamespace, testNamespace } from '../support/redis.js';

/** The password every REDIS_URL here carries; it must never be printed. */
const PASSWORD = `pw-${randomBytes(8).toString('hex')}-Zq`;

/** A free TCP port on 127.0.0.1 (nothing listens there once this resolves). */

/** A private redis-server that requires `password` (no persistence). */
interface PasswordRedis {
  port: number;
  kill(): Promise<void>;
}

/** Starts `redis-server --requirepass password` on a free port; resolves once it answers. */
async function startRedisWithPassword(password: string): Promise<PasswordRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--requirepass',
      password,
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis(port, '127.0.0.1', {
      password,
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
  return {
    port,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The five commands that talk to Redis. */
const COMMANDS: string[][] = [
  ['stats'],
  ['status', 'no-such-task'],
  ['enqueue', 'square', '{"x":1}'],
  ['dead'],
  ['worker', '--concurrency', '1'],
];

/** The forms of REDIS_URL that carry PASSWORD, for a server on `port`. */
const URL_FORMS: Record<string, (port: number) => string> = {
  'user info': (port) => `redis://default:${PASSWORD}@127.0.0.1:${port}`,
  'query option': (port) => `redis://127.0.0.1:${port}/0?password=${PASSWORD}`,
  'lone user name': (port) => `redis://${PASSWORD}@127.0.0.1:${port}`,
};

/**
 * Longest a failing command may take. Alone, one takes about 3.5 s (0.8 s of tsx start-up, the
 * rest ioredis's few reconnection attempts); five at once, on a 2-core machine busy with other
 * test files, have taken up to 18 s. A command that hangs takes far longer.
 */
const FAIL_FAST_MS = 30_000;

/** Time limit of a test that runs the five commands at once. */
const FIVE_COMMANDS_MS = 90_000;

/** Runs every command against `redisUrl`; each must fail fast, name the port, hide PASSWORD. */
async function expectEveryCommandFailsQuietly(redisUrl: string, port: number): Promise<void> {
  const env = {
    ...process.env,
    REDIS_URL: redisUrl,
    FORKLIFT_NAMESPACE: testNamespace('cli-secrets'),
    FORKLIFT_LOG_LEVEL: 'debug',
  };
  const runs = await Promise.all(
    COMMANDS.map(async (args) => {
      const started = Date.now();
      const run = await runForklift(args, env);
      return { args, run, ms: Date.now() - started };
    }),
  );
  for (const { args, run, ms } of runs) {
    const what = `forklift ${args.join(' ')}\n${run.stdout}${run.stderr}`;
    expect(run.code, what).not.toBe(0);
    expect(run.code, what).not.toBeNull();
    expect(ms, what).toBeLessThan(FAIL_FAST_MS);
    expect(`${run.stdout}${run.stderr}`, what).toContain(`127.0.0.1:${port}`);
    expect(run.stderr, what).toContain('***');
    expect(run.stdout, what).not.toContain(PASSWORD);
    expect(run.stderr, what).not.toContain(PASSWORD);
  }
}

describe('Redis URLs are shown without their credentials', () => {
  it('redactRedisUrl masks the password, a lone user name and secret query options', () => {
    expect(redactRedisUrl(`redis://default:${PASSWORD}@h:6379/2`)).toBe(
      'redis://default:***@h:6379/2',
    );
    expect(redactRedisUrl(`rediss://:${PASSWORD}@h:6380`)).toBe('rediss://:***@h:6380');
    expect(redactRedisUrl(`redis://${PASSWORD}@h:6379`)).toBe('redis://***@h:6379');
    expect(redactRedisUrl(`redis://h:6379/0?password=${PASSWORD}&family=6`)).toBe(
      'redis://h:6379/0?password=***&family=6',
    );
    expect(redactRedisUrl(`redis://h:1?sentinelPassword=${PASSWORD}`)).toBe(
      'redis://h:1?sentinelPassword=***',
    );
    expect(redactRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    // A password with an unescaped '/' does not parse as a URL: masked up to the last '@'.
    expect(redactRedisUrl(`redis://default:a/${PASSWORD}@h:1`)).toBe('redis://***@h:1');
    expect(redactRedisUrl(`default:${PASSWORD}@h:1`)).toBe('***@h:1');
  });

  it('redisUrlSecrets lists the secrets as written and decoded; redactText scrubs text', () => {
    expect(redisUrlSecrets(`redis://u:p%2Fq@h:1?password=${PASSWORD}`)).toEqual([
      'p%2Fq',
      'p/q',
      PASSWORD,
    ]);
    expect(redisUrlSecrets('redis://u@h:1')).toEqual(['u']);
    expect(redisUrlSecrets('redis://h:1/0?db=2')).toEqual([]);
    const text = `at redis://x:${PASSWORD}@h:1 ("${PASSWORD}" in {"a":"q\\"${PASSWORD}"})`;
    const masked = redactText(text, [PASSWORD, `q"${PASSWORD}`]);
    expect(masked).not.toContain(PASSWORD);
    expect(masked).toContain('redis://x:***@h:1');
    // A secret too short to mask in prose (a test token `t`) is left alone there.
    expect(redactText('forklift: gateway: t', ['t'])).toBe('forklift: gateway: t');
  });
});

describe('the Redis commands never print the password', () => {
  let unreachablePort = 0;
  let refusing: PasswordRedis | undefined;

  beforeAll(async () => {
    unreachablePort = await freePort();
    refusing = await startRedisWithPassword(`other-${randomBytes(6).toString('hex')}`);
  });
  afterAll(() => refusing?.kill());

  for (const [form, url] of Object.entries(URL_FORMS)) {
    it(
      `with the password as ${form}, against a port where nothing listens`,
      async () => {
        await expectEveryCommandFailsQuietly(url(unreachablePort), unreachablePort);
      },
      FIVE_COMMANDS_MS,
    );

    it(
      `with the password as ${form}, against a Redis that refuses it`,
      async () => {
        const port = refusing?.port ?? 0;
        await expectEveryCommandFailsQuietly(url(port), port);
      },
      FIVE_COMMANDS_MS,
    );
  }

  it('dev fails fast, naming the host, when nothing answers at REDIS_URL', async () => {
    const run = await runForklift(['dev', '--no-edge'], {
      ...process.env,
      REDIS_URL: `redis://default:${PASSWORD}@127.0.0.1:${unreachablePort}`,
    });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(`redis://default:***@127.0.0.1:${unreachablePort}`);
    expect(`${run.stdout}${run.stderr}`).not.toContain(PASSWORD);
  });
});

describe('forklift dev gives wrangler no secret on its command line', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'forklift-cli-secrets-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const secrets = {
    UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:8079',
    UPSTASH_REDIS_REST_TOKEN: `gw-${randomBytes(8).toString('hex')}`,
    FORKLIFT_API_TOKENS: `api-$HOME-${randomBytes(8).toString('hex')}`,
  };

  it('prepareWrangler: tokens in a private vars file, none in argv or the environment', () => {
    const project = mkdtempSync(join(scratch, 'project-'));
    const launch = prepareWrangler({
      wrangler: '/bin/wrangler',
      ip: '127.0.0.1',
      port: 8787,
      secrets,
      vars: { FORKLIFT_QUEUE: 'default', FORKLIFT_NAMESPACE: 'forklift' },
      env: {
        PATH: '/usr/bin',
        REDIS_URL: `redis://default:${PASSWORD}@h:1`,
        FORKLIFT_API_TOKENS: secrets.FORKLIFT_API_TOKENS,
        FORKLIFT_GATEWAY_TOKENS: secrets.UPSTASH_REDIS_REST_TOKEN,
      },
      projectDir: project,
    });
    try {
      const argv = [launch.command, ...launch.args].join('\0');
      for (const secret of [secrets.UPSTASH_REDIS_REST_TOKEN, secrets.FORKLIFT_API_TOKENS]) {
        expect(argv).not.toContain(secret);
        expect(JSON.stringify(launch.env)).not.toContain(secret);
      }
      expect(JSON.stringify(launch.env)).not.toContain(PASSWORD);
      expect(launch.env.PATH).toBe('/usr/bin');
      expect(launch.env.CLOUDFLARE_INCLUDE_PROCESS_ENV).toBe('false');
      expect(launch.args).toEqual([
        'dev',
        '--ip',
        '127.0.0.1',
        '--port',
        '8787',
        '--env-file',
        launch.varsFile,
        '--var',
        'FORKLIFT_QUEUE:default',
        '--var',
        'FORKLIFT_NAMESPACE:forklift',
      ]);
      expect(statSync(launch.varsFile).mode & 0o777).toBe(0o600);
      expect(statSync(dirname(launch.varsFile)).mode & 0o777).toBe(0o700);
      const lines = readFileSync(launch.varsFile, 'utf8').split('\n');
      expect(lines).toContain(`UPSTASH_REDIS_REST_TOKEN='${secrets.UPSTASH_REDIS_REST_TOKEN}'`);
      // `$` escaped, so that wrangler's dotenv-expand leaves it alone.
      expect(lines).toContain(
        `FORKLIFT_API_TOKENS='${secrets.FORKLIFT_API_TOKENS.replace('$', '\\$')}'`,
      );
    } finally {
      launch.dispose();
    }
    expect(existsSync(launch.varsFile)).toBe(false);
    expect(existsSync(dirname(launch.varsFile))).toBe(false);
  });

  it("prepareWrangler passes the project's own .dev.vars first, so its values still apply", () => {
    const project = mkdtempSync(join(scratch, 'project-'));
    writeFileSync(join(project, '.dev.vars'), 'FORKLIFT_MAX_TASK_BYTES=1000\n');
    const launch = prepareWrangler({
      wrangler: '/bin/wrangler',
      ip: '127.0.0.1',
      port: 8787,
      secrets,
      vars: {},
      env: {},
      projectDir: project,
    });
    try {
      const files = launch.args.flatMap((a, i) => (launch.args[i - 1] === '--env-file' ? [a] : []));
      expect(files).toEqual([join(project, '.dev.vars'), launch.varsFile]);
    } finally {
      launch.dispose();
    }
  });

  it('dotenvLine quotes a value so that it reads back literally, or refuses it', () => {
    expect(dotenvLine('A', 'x$y')).toBe("A='x\\$y'");
    expect(dotenvLine('A', "it's")).toBe("A=`it's`");
    expect(() => dotenvLine('A', 'two\nlines')).toThrow(/cannot be passed/);
    expect(() => dotenvLine('A', 'ends\\')).toThrow(/cannot be passed/);
  });

  it('a real `forklift dev` serves with the tokens while no wrangler process shows them', async () => {
    const redis = await startRedisWithPassword(PASSWORD);
    const namespace = testNamespace('cli-secrets-dev');
    const [gatewayPort, edgePort] = [await freePort(), await freePort()];
    const gatewayToken = `gw-${randomBytes(10).toString('hex')}`;
    const apiToken = `api-$HOME-${randomBytes(10).toString('hex')}`;
    const hidden = [PASSWORD, gatewayToken, apiToken];
    const child = spawn(
      TSX,
      [
        'worker-host/cli/main.ts',
        'dev',
        '--concurrency',
        '1',
        '--gateway-port',
        String(gatewayPort),
        '--edge-port',
        String(edgePort),
      ],
      {
        cwd: ROOT,
        detached: true,
        env: {
          ...process.env,
          REDIS_URL: `redis://default:${PASSWORD}@127.0.0.1:${redis.port}`,
          FORKLIFT_NAMESPACE: namespace,
          FORKLIFT_GATEWAY_TOKENS: gatewayToken,
          FORKLIFT_API_TOKENS: apiToken,
        },
      },
    );
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    child.stderr?.on('data', (d) => {
      out += d;
    });
    const exited = once(child, 'exit');
    let varsFile: string | undefined;
    try {
      // Ready once the edge answers an authorized call through the gateway to Redis.
      const deadline = Date.now() + 40_000;
      let status = 0;
      while (Date.now() < deadline && status !== 200) {
        if (child.exitCode !== null) throw new Error(`forklift dev exited early:\n${out}`);
        status = await fetch(`http://127.0.0.1:${edgePort}/v1/stats`, {
          headers: { authorization: `Bearer ${apiToken}` },
        }).then(
          (res) => res.status,
          () => 0,
        );
        if (status !== 200) await new Promise((r) => setTimeout(r, 250));
      }
      expect(status, out).toBe(200);

      // No process of the stack has a secret on its command line. wrangler's own processes
      // start without a secret in their environment either (REDIS_URL and the token variables
      // are withheld); wrangler then loads the vars file into its environment, which workerd,
      // the runtime holding the Worker's bindings anyway, inherits (readable by this user
      // only): there only the Redis password must not appear.
      const stack = descendants(child.pid ?? 0);
      const wrangler = stack.filter((p) => /wrangler/.test(p.cmdline));
      const workerd = stack.filter((p) => /workerd/.test(p.cmdline) && !/wrangler/.test(p.cmdline));
      expect(wrangler.length, out).toBeGreaterThan(0);
      expect(workerd.length, out).toBeGreaterThan(0);
      for (const proc of stack) {
        for (const secret of hidden) expect(proc.cmdline, `pid ${proc.pid}`).not.toContain(secret);
      }
      for (const proc of wrangler) {
        for (const secret of hidden) expect(proc.environ, `pid ${proc.pid}`).not.toContain(secret);
      }
      for (const proc of workerd) expect(proc.environ, `pid ${proc.pid}`).not.toContain(PASSWORD);
      varsFile = /--env-file\0([^\0]+)/.exec(wrangler[0]?.cmdline ?? '')?.[1];
      expect(varsFile).toBeDefined();
      expect(existsSync(varsFile ?? '')).toBe(true);

      child.kill('SIGINT');
      const [code] = await exited;
      expect(code, out).toBe(0);
      expect(existsSync(varsFile ?? '')).toBe(false);
      for (const secret of hidden) expect(out).not.toContain(secret);
      expect(out).toContain(`redis://default:***@127.0.0.1:${redis.port}`);
    } finally {
      if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
      // A killed stack cannot delete its vars file.
      if (varsFile) rmSync(dirname(varsFile), { recursive: true, force: true });
      const cleanup = new Redis(redis.port, '127.0.0.1', { password: PASSWORD });
      await deleteNamespace(cleanup, namespace).finally(() => cleanup.disconnect());
      await redis.kill();
    }
  }, 60_000);
});

/** A running process as /proc shows it (NUL-separated command line and environment). */
interface Proc {
  pid: number;
  cmdline: string;
  environ: string;
}

/** Every live descendant of `root`, read from /proc. */
function descendants(root: number): Proc[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the command name in parentheses, which may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // The process ended while we looked.
    }
  }
  const found: Proc[] = [];
  const isDescendant = (pid: number): boolean => {
    for (let p = parentOf.get(pid); p !== undefined && p > 1; p = parentOf.get(p)) {
      if (p === root) return true;
    }
    return false;
  };
  for (const pid of parentOf.keys()) {
    if (!isDescendant(pid)) continue;
    try {
      found.push({
        pid,
        cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8'),
        environ: readFileSync(`/proc/${pid}/environ`, 'utf8'),
      });
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}
