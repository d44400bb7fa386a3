/**
 * Helpers of the deploy test (build.test.ts): copying the project as a Docker build context,
 * running npm and the built CLI with an environment that cannot reach this checkout's
 * node_modules, and watching long-running commands.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { delimiter, dirname, join, relative, resolve, sep } from 'node:path';

/**
 * npm settings from the environment that a nested npm may keep: where packages come from and
 * how to reach it. Every other `npm_*` variable is dropped: `npm test` exports its own
 * settings to scripts, and one of them (`npm_config_local_prefix`) would point a nested
 * `npm ci` at this checkout instead of the copy.
 */
const NPM_SETTINGS_KEPT = new Set([
  'npm_config_registry',
  'npm_config_cache',
  'npm_config_userconfig',
  'npm_config_globalconfig',
  'npm_config_proxy',
  'npm_config_https_proxy',
  'npm_config_http_proxy',
  'npm_config_noproxy',
  'npm_config_cafile',
  'npm_config_ca',
  'npm_config_strict_ssl',
]);

/**
 * The environment for processes of the copies: this one without npm's script variables,
 * without NODE_OPTIONS (a `--import tsx` there would hide a missing build step) and with no
 * `node_modules` folder on PATH (so no tool of this checkout is found by name), plus `extra`.
 */
export function isolatedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^npm_/i.test(key) && !NPM_SETTINGS_KEPT.has(key.toLowerCase())) continue;
    if (key === 'NODE_OPTIONS' || key === 'INIT_CWD' || key.startsWith('VITEST')) continue;
    env[key] = value;
  }
  const path = process.env.PATH ?? '';
  env.PATH = path
    .split(delimiter)
    .filter((dir) => dir !== '' && !dir.split(/[\\/]/).includes('node_modules'))
    .join(delimiter);
  return { ...env, ...extra };
}

/**
 * The files a Docker build would get with `COPY . .`: the tracked files as they are in the
 * working tree (uncommitted changes included) and new files git does not ignore. Outside a git
 * checkout: the tree without node_modules, dist, .git and .wrangler.
 */
export function copyProject(root: string, into: string): void {
  let files: string[] | undefined;
  try {
    files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    })
      .split('\0')
      .filter((file) => file !== '');
  } catch {
    files = undefined;
  }
  if (files === undefined) {
    const skipped = new Set(['node_modules', 'dist', '.git', '.wrangler']);
    cpSync(root, into, {
      recursive: true,
      filter: (source) =>
        !relative(root, source)
          .split(sep)
          .some((part) => skipped.has(part)),
    });
    return;
  }
  for (const file of files) {
    const source = join(root, file);
    // A tracked file deleted in the working tree is not part of the build.
    if (!existsSync(source) || !statSync(source).isFile()) continue;
    const target = join(into, file);
    mkdirSync(dirname(target), { recursive: true });
    cpSync(source, target);
  }
}

/** What a finished process printed. */
export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `command args` in `cwd` to completion (killed after `timeoutMs`). */
export function runProcess(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Finished> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${command}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** The last `count` lines of `text`, for error messages. */
export function tail(text: string, count = 30): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

/**
 * Runs npm in `cwd`; throws, quoting npm's last lines, unless it exits 0. `npm ci` here must
 * reach the registry or find every package in the npm cache.
 */
export async function npm(
  args: readonly string[],
  cwd: string,
  timeoutMs: number,
): Promise<Finished> {
  const started = Date.now();
  const run = await runProcess('npm', args, { cwd, env: isolatedEnv(), timeoutMs });
  if (run.code !== 0) {
    const how =
      run.code === null
        ? `was killed (${run.signal}) after ${Math.round((Date.now() - started) / 1000)} s`
        : `exited ${run.code}`;
    throw new Error(
      `\`npm ${args.join(' ')}\` in ${cwd} ${how}. The deploy test installs the locked ` +
        'packages as a Docker build would: it needs the npm registry, or every package in the ' +
        `npm cache (~/.npm).\n--- stderr ---\n${tail(run.stderr)}\n--- stdout ---\n${tail(run.stdout)}`,
    );
  }
  return run;
}

/** A long-running process (a worker host, a gateway) and what it has printed so far. */
export class Running {
  stdout = '';
  stderr = '';
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk) => {
      this.stdout += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      this.stderr += chunk;
    });
    this.exit = new Promise((resolvePromise) => {
      child.once('exit', (code, signal) => resolvePromise({ code, signal }));
    });
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The JSON log lines (pino) printed on stdout so far. */
  logLines(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Waits for a log line whose `msg` is `msg`; fails if the process exits first. */
  async waitForLog(msg: string, timeoutMs: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.logLines().find((entry) => entry.msg === msg);
      if (line) return line;
      if (!this.running || Date.now() > deadline) {
        throw new Error(
          `no log line '${msg}' (${this.running ? `after ${timeoutMs} ms` : `the process exited ${this.child.exitCode ?? this.child.signalCode}`})\n` +
            `--- stdout ---\n${tail(this.stdout)}\n--- stderr ---\n${tail(this.stderr)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Describes the output so far, for assertion messages. */
  describe(): string {
    return `--- stdout ---\n${tail(this.stdout)}\n--- stderr ---\n${tail(this.stderr)}`;
  }
}

/** The processes whose parent is `pid`, with their command lines (`ps`, Linux and macOS). */
export function childProcesses(pid: number): { pid: number; args: string }[] {
  const out = execFileSync('ps', ['-A', '-ww', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null && Number(m[2]) === pid)
    .map((m) => ({ pid: Number(m[1]), args: m[3] ?? '' }));
}

/** Whether a process `pid` exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Every `.js` file under `dir`, relative to it, with `/` separators. */
export function jsFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((file) => file.endsWith('.js'))
    .map((file) => file.split(sep).join('/'))
    .sort();
}

/** The module specifiers of a compiled ES module: static, side-effect and literal dynamic imports, and require(). */
export function importSpecifiers(source: string): string[] {
  const patterns = [
    /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m[1] ?? ''));
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`), or `node` for a builtin. */
export function packageOf(specifier: string): string {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier)) return 'node';
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/**
 * The imports of the `.js` files under `dir` that production cannot satisfy: a relative import
 * of a file that is not in the build, or a bare one of a package that is neither built in nor
 * among `dependencies`.
 */
export function unsatisfiedImports(dir: string, dependencies: readonly string[]): string[] {
  const problems: string[] = [];
  for (const file of jsFiles(dir)) {
    const source = readFileSync(join(dir, file), 'utf8');
    for (const specifier of importSpecifiers(source)) {
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(join(dir, file)), specifier);
        if (!existsSync(target) || relative(dir, target).startsWith('..')) {
          problems.push(`${file}: ${specifier} (not in the build)`);
        }
        continue;
      }
      const pkg = packageOf(specifier);
      if (pkg !== 'node' && !dependencies.includes(pkg)) {
        problems.push(`${file}: ${specifier} (not a production dependency)`);
      }
    }
  }
  return problems;
}
