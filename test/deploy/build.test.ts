/**
 * The production build, made and run the way a Dockerfile would: the project is copied to a
 * temporary directory (the working tree's files, uncommitted changes included), a user's
 * handlers module written in TypeScript is added under `worker-host/handlers/`, then `npm ci`
 * and `npm run build`. A second, clean directory gets only package.json, package-lock.json and
 * `dist/node`, and `npm ci --omit=dev`: no tsx, no TypeScript, no vitest. From there the built
 * CLI runs a worker host (built-in handlers, then the user's compiled ones), `enqueue`,
 * `status`, `stats`, `dead` and the gateway, against the test Redis under this file's own
 * namespace. Nothing under dist may import a package outside `dependencies`.
 *
 * npm must reach the registry or find the locked packages in its cache; if it cannot, the
 * set-up fails naming the npm command and quoting its output.
 */

import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deleteNamespace,
  TEST_REDIS_URL,
  testNamespace,
  testQueue,
  testRedis,
  waitFor,
} from '../support/redis.js';
import {
  alive,
  childProcesses,
  copyProject,
  type Finished,
  importSpecifiers,
  isolatedEnv,
  jsFiles,
  npm,
  Running,
  runProcess,
  unsatisfiedImports,
} from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The built CLI, relative to a project directory. */
const CLI = 'dist/node/worker-host/cli/main.js';
/** Where the user's handlers module goes in the source, and where `npm run build` puts it. */
const USER_HANDLERS_TS = 'worker-host/handlers/deploy-check.ts';
const USER_HANDLERS_JS = 'dist/node/worker-host/handlers/deploy-check.js';
/**
 * Time limits of the set-up's steps (on this machine, with a warm npm cache: about 15 s, 3 s
 * and 2 s); together they stay within the set-up's own limit, so a slow step fails naming npm.
 */
const CI_TIMEOUT_MS = 130_000;
const BUILD_TIMEOUT_MS = 50_000;
const CI_OMIT_DEV_TIMEOUT_MS = 50_000;
const SETUP_TIMEOUT_MS = 240_000;
const TEST_TIMEOUT_MS = 60_000;
/** The worker hosts' grace period in this test (seconds). */
const GRACE_S = 10;

/**
 * A user's handlers module, in TypeScript that Node cannot run as it is (interfaces, type
 * annotations, a type-only import) and in two files: it serves the built-in `square` type,
 * refuses 13 as unrecoverable, and appends how its process was started to DEPLOY_PROBE_FILE.
 */
const USER_HANDLERS_SOURCE = `/** A user's handlers module, added by test/deploy/build.test.ts. */
import { appendFileSync } from 'node:fs';
import { tasks } from '../../shared/tasks/index.js';
import { defineHandlers, UnrecoverableError } from '../handler-api.js';
import { describeProcess } from './deploy-check-probe.js';

export default defineHandlers(tasks, {
  square: async ({ x }, ctx) => {
    if (x === 13) throw new UnrecoverableError('13 is refused by the custom handlers');
    const file: string | undefined = process.env.DEPLOY_PROBE_FILE;
    if (file) appendFileSync(file, \`\${JSON.stringify(describeProcess(ctx))}\\n\`);
    return x * x;
  },
});
`;
const USER_PROBE_SOURCE = `import type { HandlerContext } from '../handler-api.js';

/** How the process running a task was started. */
export interface ProcessProbe {
  taskId: string;
  pid: number;
  main: string;
  execArgv: string[];
}

export function describeProcess(ctx: HandlerContext): ProcessProbe {
  const main = process.argv[1] ?? '';
  return { taskId: ctx.id, pid: process.pid, main, execArgv: process.execArgv };
}
`;

const namespace = testNamespace('deploy');
const redis = testRedis();
const queue = testQueue(redis, namespace);
const scratch = mkdtempSync(join(tmpdir(), 'forklift-deploy-'));
/** The copy that is built (as a Docker build stage). */
const source = join(scratch, 'source');
/** The clean copy that runs (as the runtime image). */
const app = join(scratch, 'app');
const probeFile = join(scratch, 'probe.jsonl');
const started: Running[] = [];

/** The environment of the production processes: no npm or vitest variables, no tools on PATH. */
const prodEnv = (extra: NodeJS.ProcessEnv = {}) =>
  isolatedEnv({
    NODE_ENV: 'production',
    REDIS_URL: TEST_REDIS_URL,
    FORKLIFT_NAMESPACE: namespace,
    FORKLIFT_LOG_LEVEL: 'info',
    DEPLOY_PROBE_FILE: probeFile,
    ...extra,
  });

/** Runs the built CLI in the clean copy to completion. */
function cli(args: readonly string[], extra: NodeJS.ProcessEnv = {}): Promise<Finished> {
  return runProcess(process.execPath, [CLI, ...args], {
    cwd: app,
    env: prodEnv(extra),
    timeoutMs: 30_000,
  });
}

/** Starts a long-running command of the built CLI in the clean copy. */
function start(args: readonly string[], extra: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: app,
    env: prodEnv(extra),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const running = new Running(child);
  started.push(running);
  return running;
}

/** `enqueue TYPE PAYLOAD` through the built CLI; returns the task id. */
async function enqueue(type: string, payload: unknown): Promise<string> {
  const run = await cli(['enqueue', type, JSON.stringify(payload)]);
  expect(run.code, run.stderr).toBe(0);
  const id = run.stdout.trim();
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  return id;
}

/** `status ID --json` through the built CLI. */
async function status(id: string): Promise<Record<string, unknown>> {
  const run = await cli(['status', id, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** Polls `status` until the task is in one of `states`. */
function statusWhen(id: string, states: readonly string[]): Promise<Record<string, unknown>> {
  return waitFor(
    async () => {
      const view = await status(id);
      return states.includes(view.state as string) ? view : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: `task ${id} to be ${states.join(' or ')}` },
  );
}

/** SIGTERM to a worker host; resolves to its exit and how long it took. */
async function terminate(host: Running): Promise<{ code: number | null; ms: number }> {
  const since = Date.now();
  host.child.kill('SIGTERM');
  const exit = await Promise.race([
    host.exit,
    new Promise<undefined>((r) => setTimeout(r, (GRACE_S + 10) * 1000)),
  ]);
  if (!exit) throw new Error(`the host did not exit after SIGTERM\n${host.describe()}`);
  return { code: exit.code, ms: Date.now() - since };
}

beforeAll(async () => {
  // The build stage: COPY . . (tracked and new files), the user's handlers, npm ci, npm run build.
  mkdirSync(source);
  copyProject(ROOT, source);
  writeFileSync(join(source, USER_HANDLERS_TS), USER_HANDLERS_SOURCE);
  writeFileSync(join(source, 'worker-host/handlers/deploy-check-probe.ts'), USER_PROBE_SOURCE);
  await npm(['ci', '--prefer-offline', '--no-audit', '--no-fund'], source, CI_TIMEOUT_MS);
  await npm(['run', 'build'], source, BUILD_TIMEOUT_MS);
  // The runtime image: the manifests and the build output only, production packages only.
  mkdirSync(app);
  for (const file of ['package.json', 'package-lock.json']) {
    writeFileSync(join(app, file), readFileSync(join(source, file)));
  }
  cpSync(join(source, 'dist/node'), join(app, 'dist/node'), { recursive: true });
  await npm(
    ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'],
    app,
    CI_OMIT_DEV_TIMEOUT_MS,
  );
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  for (const running of started) if (running.running) running.child.kill('SIGKILL');
  await deleteNamespace(redis, namespace);
  redis.disconnect();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the production build (npm run build, then npm ci --omit=dev)', () => {
  it('holds shared/ and worker-host/ only, importing nothing outside `dependencies`', () => {
    const dist = join(app, 'dist/node');
    const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const files = jsFiles(dist);
    expect(new Set(files.map((file) => file.split('/')[0]))).toEqual(
      new Set(['shared', 'worker-host']),
    );
    expect(files).toContain('worker-host/cli/main.js');
    expect(files).toContain('worker-host/pool/child-main.js');
    expect(files).toContain('worker-host/handlers/index.js');
    // The scan finds imports at all (it would pass vacuously otherwise) ...
    const specifiers = files.flatMap((file) =>
      importSpecifiers(readFileSync(join(dist, file), 'utf8')),
    );
    expect(specifiers).toContain('ioredis');
    expect(specifiers.filter((s) => s.startsWith('.')).length).toBeGreaterThan(100);
    // ... and every one of them is a built file, a Node builtin or a production dependency.
    expect(unsatisfiedImports(dist, Object.keys(pkg.dependencies))).toEqual([]);
    // The only mention of tsx: fork-child's branch for a child started from .ts sources.
    const naming = files.filter((file) =>
      /['"]tsx['"]/.test(readFileSync(join(dist, file), 'utf8')),
    );
    expect(naming).toEqual(['worker-host/pool/fork-child.js']);
  });

  it(
    'installs without devDependencies: no tsx, TypeScript or vitest',
    async () => {
      const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as {
        devDependencies: Record<string, string>;
      };
      const present = Object.keys(pkg.devDependencies).filter((name) =>
        existsSync(join(app, 'node_modules', name)),
      );
      expect(present).toEqual([]);
      expect(existsSync(join(app, 'node_modules/tsx'))).toBe(false);
      expect(existsSync(join(app, 'node_modules/.bin/tsx'))).toBe(false);
      // Nor anything installed only for them: npm's record of node_modules marks none dev.
      const installed = JSON.parse(
        readFileSync(join(app, 'node_modules/.package-lock.json'), 'utf8'),
      ) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
      const devOnly = Object.entries(installed.packages)
        .filter(([, entry]) => entry.dev || entry.devOptional)
        .map(([path]) => path);
      expect(devOnly).toEqual([]);
      expect(Object.keys(installed.packages)).toContain('node_modules/ioredis');
      const ls = await npm(['ls', '--omit=dev', '--all'], app, 60_000);
      expect(ls.stdout).toContain('ioredis@');
    },
    TEST_TIMEOUT_MS,
  );
});

describe('the built CLI, from the clean copy', () => {
  it(
    'runs a worker host on the built-in handlers; enqueue, status, stats; SIGTERM ends it with 0',
    async () => {
      const host = start(['worker', '--concurrency', '1', '--grace', String(GRACE_S)]);
      const ready = await host.waitForLog('worker host started', 20_000);
      expect(ready.concurrency).toBe(1);

      const id = await enqueue('square', { x: 7 });
      const view = await statusWhen(id, ['succeeded', 'dead']);
      expect(view, host.describe()).toMatchObject({ state: 'succeeded', result: 49, attempts: 1 });

      // The children were forked from the compiled child-main.js by plain node: no TS loader.
      const hostPid = host.child.pid ?? 0;
      const children = childProcesses(hostPid);
      expect(children.map((c) => c.args)).toEqual([
        expect.stringMatching(/\/dist\/node\/worker-host\/pool\/child-main\.js$/),
      ]);
      expect(children[0]?.args).not.toMatch(/tsx|--import|--loader|--require/);

      const stats = await cli(['stats', '--json']);
      expect(stats.code, stats.stderr).toBe(0);
      expect(JSON.parse(stats.stdout)).toMatchObject({ queue: 'default', succeeded: 1, dead: 0 });

      // A task running when SIGTERM comes finishes within the grace period; then the host exits
      // 0. (Seen running through Redis directly: a CLI call could miss the moment under load.)
      const slow = await enqueue('square', { x: 3, delayMs: 2_000 });
      await waitFor(async () => (await queue.getTask(slow))?.state === 'active', {
        intervalMs: 20,
        what: 'the slow task to start',
      });
      const stop = await terminate(host);
      expect(stop.code, host.describe()).toBe(0);
      expect(stop.ms).toBeLessThan(GRACE_S * 1000);
      expect(await status(slow)).toMatchObject({ state: 'succeeded', result: 9 });
      await waitFor(() => children.every((c) => !alive(c.pid)), { what: 'the children to exit' });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "runs the user's TypeScript handlers compiled by npm run build (--handlers dist/...js)",
    async () => {
      expect(existsSync(join(app, USER_HANDLERS_JS))).toBe(true);
      const host = start([
        'worker',
        '--concurrency',
        '1',
        '--grace',
        String(GRACE_S),
        '--handlers',
        USER_HANDLERS_JS,
      ]);
      await host.waitForLog('worker host started', 20_000);

      const id = await enqueue('square', { x: 5 });
      expect(await statusWhen(id, ['succeeded', 'dead'])).toMatchObject({
        state: 'succeeded',
        result: 25,
      });
      // The user's module ran it, in a child started from the compiled .js without a TS loader.
      const probes = readFileSync(probeFile, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { taskId: string; main: string; execArgv: string[] });
      expect(probes).toEqual([
        {
          taskId: id,
          pid: expect.any(Number),
          main: join(app, 'dist/node/worker-host/pool/child-main.js'),
          execArgv: [],
        },
      ]);

      // Its UnrecoverableError (from the built handler-api.js) sends the task straight to dead.
      const refused = await enqueue('square', { x: 13 });
      expect(await statusWhen(refused, ['dead'])).toMatchObject({
        attempts: 1,
        error: expect.stringContaining('13 is refused by the custom handlers'),
      });
      const dead = await cli(['dead', '--json']);
      expect(dead.code, dead.stderr).toBe(0);
      expect(JSON.parse(dead.stdout)).toMatchObject({ total: 1, tasks: [{ id: refused }] });
      const retried = await cli(['dead', '--retry-all']);
      expect(retried.code, retried.stderr).toBe(0);
      // Retried with fresh attempts, it runs and dies again: the running total counts two deaths.
      await waitFor(
        async () => {
          const run = await cli(['stats', '--json']);
          return (JSON.parse(run.stdout) as { dead: number }).dead === 2;
        },
        { timeoutMs: 20_000, what: 'the retried task to die again' },
      );
      expect(await status(refused)).toMatchObject({ state: 'dead', attempts: 1 });

      const stop = await terminate(host);
      expect(stop.code, host.describe()).toBe(0);
      expect(stop.ms).toBeLessThan(GRACE_S * 1000);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses a .ts handlers module in production, naming it (exit 1)',
    async () => {
      const copied = join(app, 'handlers.ts');
      writeFileSync(copied, 'const refused: number = 1;\nexport default { refused };\n');
      const run = await cli(['worker', '--concurrency', '1', '--handlers', copied]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`the handlers module ${copied}`);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'runs the gateway (forklift preset), which answers and stops on SIGTERM with 0',
    async () => {
      const token = `deploy-${Math.random().toString(36).slice(2)}`;
      const gateway = start(['gateway', '--port', '0'], {
        FORKLIFT_GATEWAY_TOKENS: token,
        FORKLIFT_GATEWAY_ALLOW: 'forklift',
      });
      const listening = await gateway.waitForLog('gateway listening', 20_000);
      const response = await fetch(String(listening.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(['PING']),
      });
      expect(await response.json()).toEqual({ result: 'PONG' });
      gateway.child.kill('SIGTERM');
      expect((await gateway.exit).code, gateway.describe()).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );
});
