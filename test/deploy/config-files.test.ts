/**
 * The deployment files (Dockerfile, .dockerignore, fly.toml, fly.gateway.toml, the systemd units
 * and env examples in deploy/, .dev.vars.example, wrangler.toml, the Prometheus rules and
 * docs/deploy.md) against what they rely on and what can change under them:
 *
 * - the build layout: the entry file follows from package.json's build script and the outDir and
 *   rootDir of its tsconfig (`dist/node/worker-host/cli/main.js`);
 * - the CLI: every command line is run through the command's own argument parser (with `--help`
 *   added, so nothing starts), after the command is looked up in main.ts's table; worker flag
 *   values go through `resolveWorkerOptions`, gateway ones through `loadGatewayConfig`;
 * - timings: each stop timeout must outlast the host's grace (its `--grace`, else the default of
 *   `resolveWorkerOptions`) plus the Redis calls of its shutdown, or the gateway's drain;
 * - the routes the metrics server serves, the variables each part reads, the metric names.
 *
 * Nothing is built, spawned or fetched: test/deploy/build.test.ts runs the build itself.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { readCliEnv } from '../../worker-host/cli/env.js';
import { TOKEN_VARIABLES } from '../../worker-host/cli/secrets.js';
import { gatewayConfig, loadGatewayConfig } from '../../worker-host/gateway/config.js';
import { resolveWorkerOptions } from '../../worker-host/worker-options.js';
import {
  type DockerStage,
  dockerIgnored,
  envFile,
  execForm,
  filesUnder,
  parseDockerfile,
  parseToml,
  parseUnit,
  ROOT,
  read,
  setting,
  settings,
  strings,
  type TomlTable,
  tables,
  unitSeconds,
  words,
} from './formats.js';

const exists = (path: string): boolean => {
  try {
    statSync(join(ROOT, path));
    return true;
  } catch {
    return false;
  }
};

// ---------------------------------------------------------------------------------------------
// What the files rely on, read from the sources.

/** Where `npm run build` puts a source file: `tsc -p <tsconfig>`, its outDir and rootDir. */
function buildLayout(): { outDir: string; built(source: string): string } {
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  const build = pkg.scripts.build ?? '';
  const project = /\btsc\s+(?:-p|--project)\s+(\S+)/.exec(build)?.[1];
  if (!project)
    throw new Error(`package.json's build script runs no 'tsc -p <tsconfig>': ${build}`);
  const tsconfig = JSON.parse(read(project)) as {
    compilerOptions?: { outDir?: string; rootDir?: string };
  };
  const { outDir, rootDir } = tsconfig.compilerOptions ?? {};
  if (!outDir || !rootDir) throw new Error(`${project} sets no outDir or no rootDir`);
  const base = posix.dirname(project);
  const out = posix.normalize(posix.join(base, outDir));
  const sourceRoot = posix.normalize(posix.join(base, rootDir));
  return {
    outDir: out,
    built: (source) => posix.join(out, posix.relative(sourceRoot, source)).replace(/\.ts$/, '.js'),
  };
}

const LAYOUT = buildLayout();
const ENTRY_SOURCE = 'worker-host/cli/main.ts';
const ENTRY = LAYOUT.built(ENTRY_SOURCE);

/** The CLI's commands (main.ts's table) and the module of each. */
function cliCommands(): Map<string, string> {
  const source = read(ENTRY_SOURCE);
  const table = source.slice(source.indexOf('const commands'), source.indexOf('function usage'));
  const entries = [...table.matchAll(/^ {2}([a-z]+): \{[\s\S]*?import\('\.\/([\w-]+)\.js'\)/gm)];
  return new Map(entries.map((m) => [m[1] as string, `worker-host/cli/${m[2]}.ts`]));
}

const COMMANDS = cliCommands();

type CommandModule = { run(args: string[], env: NodeJS.ProcessEnv): Promise<number> };

/**
 * Runs `argv` (a command and its arguments) through the command's own parser with `--help`
 * added: it throws naming an unknown flag or a missing value, else prints the help and exits 0.
 */
async function expectAccepted(argv: readonly string[], where: string): Promise<void> {
  const [command = '', ...args] = argv;
  const file = COMMANDS.get(command);
  if (!file) {
    throw new Error(`${where}: no command '${command}' (main.ts has ${[...COMMANDS.keys()]})`);
  }
  const mod = (await import(pathToFileURL(join(ROOT, file)).href)) as CommandModule;
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const code = await mod.run([...args, '--help'], {}).catch((error: Error) => {
      throw new Error(`${where}: forklift ${argv.join(' ')}: ${error.message}`);
    });
    expect(code, `${where}: forklift ${argv.join(' ')} --help`).toBe(0);
  } finally {
    write.mockRestore();
  }
}

/** The `--name value` flags of a command line (every flag of these commands takes a value). */
function flagValues(args: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg.startsWith('--')) flags.set(arg.slice(2), args[++i] ?? '');
  }
  return flags;
}

/** A whole number of seconds or a port, as the CLI takes it. */
function whole(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`${what} is not a whole number: ${value}`);
  return Number(value);
}

/** The worker options a `worker` command line sets, validated by the host's own resolver. */
function workerOptions(args: readonly string[], where: string) {
  const flags = flagValues(args);
  const seconds = (name: string) => {
    const s = whole(flags.get(name), `${where}: --${name}`);
    return s === undefined ? undefined : s * 1000;
  };
  const options = resolveWorkerOptions({
    graceMs: seconds('grace'),
    leaseMs: seconds('lease'),
    exitAfterOutageMs: seconds('exit-after-outage'),
    concurrency: whole(flags.get('concurrency'), `${where}: --concurrency`),
    prefetch: whole(flags.get('prefetch'), `${where}: --prefetch`),
    metricsPort: whole(flags.get('metrics-port'), `${where}: --metrics-port`),
    ...(flags.has('metrics-host') ? { metricsHost: flags.get('metrics-host') as string } : {}),
  });
  return { ...options, graceS: options.graceMs / 1000 };
}

/**
 * How long a worker host's shutdown may take beyond its grace, in whole seconds, from host.ts:
 * up to one SHUTDOWN_CALL_MS to stop claiming before the grace, then 1 s for runs aborted at its
 * end, then three calls (giving back, unregistering, quitting), and main.ts's 200 ms exit timer.
 */
function shutdownBeyondGraceS(): number {
  const host = read('worker-host/host.ts');
  const call = /const SHUTDOWN_CALL_MS = ([\d_]+);/.exec(host)?.[1];
  if (!call) throw new Error('worker-host/host.ts no longer defines SHUTDOWN_CALL_MS');
  expect(host).toContain('await emptyWithin(1_000);');
  return Math.ceil((4 * Number(call.replaceAll('_', '')) + 1_000 + 200) / 1000);
}

/** How long the gateway drains in-flight requests on SIGTERM, in seconds. */
const GATEWAY_DRAIN_S = gatewayConfig({ tokens: ['x'] }).shutdownTimeoutMs / 1000;

/** The routes of the worker's metrics server. */
const HOST_ROUTES = [...read('worker-host/http-server.ts').matchAll(/path === '(\/[a-z]+)'/g)].map(
  (m) => m[1],
);

/** Environment variables a source file reads as `env.NAME`. */
const envReads = (path: string): string[] => [
  ...new Set([...read(path).matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1] as string)),
];
const CLI_VARIABLES = envReads('worker-host/cli/env.ts');
const GATEWAY_VARIABLES = envReads('worker-host/gateway/config.ts');
/** The edge's bindings (edge/env.ts), and which of them are secrets. */
function edgeVariables(): { all: string[]; secrets: string[] } {
  const lines = read('edge/env.ts').split('\n');
  const all: string[] = [];
  const secrets: string[] = [];
  lines.forEach((line, i) => {
    const name = /^\s+([A-Z][A-Z0-9_]+)\?:/.exec(line)?.[1];
    if (!name) return;
    all.push(name);
    if (/\bSecret:/.test(lines[i - 1] ?? '')) secrets.push(name);
  });
  return { all, secrets };
}
const EDGE = edgeVariables();
/** The edge's plain vars: wrangler.toml's [vars]. */
const WRANGLER_VARS = Object.keys((parseToml('wrangler.toml').vars ?? {}) as object);
/** Variables that hold a secret and must never be written into a deployment file. */
const SECRET_VARIABLES = ['REDIS_URL', ...TOKEN_VARIABLES, ...EDGE.secrets];

// ---------------------------------------------------------------------------------------------

describe('the build layout the files rely on', () => {
  it('puts the CLI entry at dist/node/worker-host/cli/main.js (build script, outDir, rootDir)', () => {
    expect(exists(ENTRY_SOURCE)).toBe(true);
    expect(LAYOUT.outDir).toBe('dist/node');
    expect(ENTRY).toBe('dist/node/worker-host/cli/main.js');
    expect([...COMMANDS.keys()]).toEqual(
      expect.arrayContaining(['worker', 'gateway', 'enqueue', 'status', 'stats', 'dead']),
    );
    for (const file of COMMANDS.values()) expect(exists(file), file).toBe(true);
  });

  it('serves /healthz, /readyz and /metrics; the run boards live in /dev/shm or the temp dir', () => {
    expect(HOST_ROUTES).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics']));
    // The systemd units grant no writable path on the strength of this (see their comments).
    const board = read('worker-host/pool/run-board.ts');
    expect(board).toContain("'/dev/shm'");
    expect(board).toContain('tmpdir()');
  });
});

const DOCKERFILE = parseDockerfile('Dockerfile');

describe('Dockerfile', () => {
  const [build, runtime] = DOCKERFILE.stages as [DockerStage, DockerStage];
  const runs = (stage: DockerStage) => stage.steps.filter((s) => s.op === 'RUN').map((s) => s.args);
  const workdir = (stage: DockerStage) =>
    stage.steps.filter((s) => s.op === 'WORKDIR').at(-1)?.args ?? '/';

  it('builds on a Node LTS image that package.json engines accepts, in two stages', () => {
    expect(DOCKERFILE.stages).toHaveLength(2);
    expect(build.name).toBeDefined();
    expect(build.from).toBe(runtime.from);
    const major = /^node:(\d+)(?:\.[\d.]+)?-(?:bookworm|trixie)(?:-slim)?$/.exec(runtime.from)?.[1];
    expect(major, runtime.from).toMatch(/^(22|24)$/);
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines;
    const least = /^>=\s*(\d+)/.exec(engines.node)?.[1];
    expect(Number(major)).toBeGreaterThanOrEqual(Number(least));
  });

  it('stage 1: npm ci, then npm run build', () => {
    const commands = runs(build).join('\n');
    expect(commands).toMatch(/npm ci\b(?![^\n]*--omit)/);
    expect(commands.indexOf('npm ci')).toBeLessThan(commands.indexOf('npm run build'));
  });

  it('stage 2: production dependencies and the build output only, no tool of the build', () => {
    const commands = runs(runtime).join('\n');
    expect(commands).toContain('npm ci --omit=dev');
    expect(commands).not.toMatch(/npm run|tsx|tsc/);
    const copy = runtime.steps.find((s) => s.op === 'COPY' && s.args.startsWith('--from='));
    const [from, source, target] = (copy?.args ?? '').split(/\s+/);
    expect(from).toBe(`--from=${build.name}`);
    expect(source).toBe(posix.join(workdir(build), LAYOUT.outDir));
    expect(posix.resolve(workdir(runtime), target ?? '')).toBe(
      posix.join(workdir(runtime), LAYOUT.outDir),
    );
  });

  it('runs as node, under tini as PID 1, signals passed to the host alone', () => {
    expect(runtime.steps.filter((s) => s.op === 'USER').at(-1)?.args).toBe('node');
    expect(runs(runtime).join('\n')).toMatch(/apt-get install[^\n]*\btini\b/);
    const entrypoint = execForm(
      runtime.steps.filter((s) => s.op === 'ENTRYPOINT').at(-1),
      'ENTRYPOINT',
    );
    // Debian's tini package installs /usr/bin/tini. Without -g: only the host gets the signal.
    expect(entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(runtime.steps.find((s) => s.op === 'STOPSIGNAL')?.args ?? 'SIGTERM').toBe('SIGTERM');
  });

  it('CMD starts a worker host from the build with flags the CLI accepts, not through npm', async () => {
    const cmd = execForm(runtime.steps.filter((s) => s.op === 'CMD').at(-1), 'CMD');
    expect(cmd.slice(0, 2)).toEqual(['node', ENTRY]);
    expect(cmd[2]).toBe('worker');
    await expectAccepted(cmd.slice(2), 'Dockerfile CMD');
    const options = workerOptions(cmd.slice(3), 'Dockerfile CMD');
    expect(options.metricsHost).toBe('0.0.0.0');
    expect(runtime.steps.find((s) => s.op === 'EXPOSE')?.args).toBe(String(options.metricsPort));
  });
});

describe('.dockerignore', () => {
  const patterns = read('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

  it('leaves out installed, generated, local and secret files', () => {
    for (const path of ['node_modules', '.git', 'dist', '.wrangler', '.dev.vars', '.env']) {
      expect(dockerIgnored(`${path}/x`, patterns), path).toBe(true);
    }
  });

  it('keeps everything the build stage compiles', () => {
    const project = /\btsc\s+(?:-p|--project)\s+(\S+)/.exec(
      (JSON.parse(read('package.json')) as { scripts: { build: string } }).scripts.build,
    )?.[1] as string;
    const inputs = [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      project,
      ...filesUnder('worker-host'),
      ...filesUnder('shared'),
    ];
    expect(inputs.filter((file) => dockerIgnored(file, patterns))).toEqual([]);
  });
});

describe('fly.toml (the worker hosts)', () => {
  const fly = parseToml('fly.toml');
  const processes = fly.processes as TomlTable;
  const [group = '', command = ''] = Object.entries(processes ?? {})[0] ?? [];
  const argv = words(String(command), 'fly.toml [processes]');
  const options = workerOptions(argv.slice(3), 'fly.toml');

  it('runs one worker process group from the Dockerfile, with flags the CLI accepts', async () => {
    expect(Object.keys(processes)).toEqual([group]);
    expect((fly.build as TomlTable).dockerfile).toBe('Dockerfile');
    expect(argv.slice(0, 3)).toEqual(['node', ENTRY, 'worker']);
    await expectAccepted(argv.slice(2), 'fly.toml');
    expect(fly.http_service).toBeUndefined();
    expect(fly.services).toBeUndefined();
  });

  it('stops with SIGTERM and a kill_timeout above the grace and the shutdown calls', () => {
    expect(fly.kill_signal).toBe('SIGTERM');
    expect(fly.kill_timeout).toBeGreaterThanOrEqual(options.graceS + shutdownBeyondGraceS());
    expect(fly.kill_timeout).toBeLessThanOrEqual(300); // Fly's maximum
  });

  it('restarts the host whenever it exits', () => {
    const restart = tables(fly.restart).find((r) => strings(r.processes).includes(group));
    expect(restart?.policy).toBe('always');
  });

  it('checks readiness on the port and address the host serves health on', () => {
    expect(options.metricsHost).toBe('0.0.0.0');
    const checks = Object.values((fly.checks as TomlTable) ?? {}) as TomlTable[];
    const mine = checks.filter((c) => strings(c.processes).includes(group));
    expect(mine).toHaveLength(1);
    const check = mine[0] as TomlTable;
    expect(check).toMatchObject({ type: 'http', port: options.metricsPort, path: '/readyz' });
    expect(HOST_ROUTES).toContain(check.path);
  });

  it('has Fly scrape GET /metrics on the metrics port', () => {
    const metrics = tables(fly.metrics).filter((m) => strings(m.processes).includes(group));
    expect(metrics).toEqual([{ port: options.metricsPort, path: '/metrics', processes: [group] }]);
    expect(HOST_ROUTES).toContain('/metrics');
  });

  it('sets only variables the CLI reads, valid, and no secret', () => {
    const env = (fly.env ?? {}) as Record<string, string>;
    expect(Object.keys(env).filter((k) => !CLI_VARIABLES.includes(k))).toEqual([]);
    expect(Object.keys(env).filter((k) => SECRET_VARIABLES.includes(k))).toEqual([]);
    expect(() => readCliEnv(env)).not.toThrow();
  });
});

describe('fly.gateway.toml (the REST gateway)', () => {
  const fly = parseToml('fly.gateway.toml');
  const processes = fly.processes as TomlTable;
  const [group = '', command = ''] = Object.entries(processes ?? {})[0] ?? [];
  const argv = words(String(command), 'fly.gateway.toml [processes]');
  const flags = flagValues(argv.slice(3));
  const env = (fly.env ?? {}) as Record<string, string>;
  const config = loadGatewayConfig(
    { ...env, FORKLIFT_GATEWAY_TOKENS: 'a'.repeat(64) },
    { port: flags.get('port'), host: flags.get('host') },
  );

  it('runs the gateway from the same image, with flags the CLI accepts, on 0.0.0.0', async () => {
    expect(Object.keys(processes)).toEqual([group]);
    expect((fly.build as TomlTable).dockerfile).toBe('Dockerfile');
    expect(argv.slice(0, 3)).toEqual(['node', ENTRY, 'gateway']);
    await expectAccepted(argv.slice(2), 'fly.gateway.toml');
    expect(config.host).toBe('0.0.0.0');
  });

  it('stops with SIGTERM after the gateway has drained its requests; restarts always', () => {
    expect(fly.kill_signal).toBe('SIGTERM');
    expect(fly.kill_timeout).toBeGreaterThanOrEqual(GATEWAY_DRAIN_S + 5);
    const restart = tables(fly.restart).find((r) => strings(r.processes).includes(group));
    expect(restart?.policy).toBe('always');
  });

  it('serves the gateway port through Fly\u2019s proxy, with HTTPS forced, and checks it', () => {
    const http = fly.http_service as TomlTable;
    expect(http).toMatchObject({ internal_port: config.port, force_https: true });
    expect(strings(http.processes)).toEqual([group]);
    const checks = Object.values((fly.checks as TomlTable) ?? {}) as TomlTable[];
    expect(
      checks.filter((c) => c.port === config.port && strings(c.processes).includes(group)),
    ).toHaveLength(1);
  });

  it('sets the forklift preset, only gateway variables, and no secret', () => {
    expect(env.FORKLIFT_GATEWAY_ALLOW).toBe('forklift');
    expect(Object.keys(env).filter((k) => !GATEWAY_VARIABLES.includes(k))).toEqual([]);
    expect(Object.keys(env).filter((k) => SECRET_VARIABLES.includes(k))).toEqual([]);
  });
});

describe('systemd units (deploy/systemd)', () => {
  const units = readdirSync(join(ROOT, 'deploy/systemd')).filter((f) => f.endsWith('.service'));

  it('are the worker host and the gateway', () => {
    expect(units.sort()).toEqual(['forklift-gateway.service', 'forklift-worker.service']);
  });

  for (const file of units) {
    const path = `deploy/systemd/${file}`;
    const unit = parseUnit(path);
    const service = (key: string) => setting(unit, 'Service', key);
    const argv = words(service('ExecStart') ?? '', `${path} ExecStart`);
    const command = argv[2] ?? '';

    it(`${file}: runs the build's entry with flags the CLI accepts`, async () => {
      expect(argv[0]).toMatch(/^\/\S+\/node$/);
      expect(argv[1]).toBe(posix.join(service('WorkingDirectory') ?? '', ENTRY));
      expect(file).toBe(`forklift-${command}.service`);
      await expectAccepted(argv.slice(2), path);
    });

    it(`${file}: stops with SIGTERM to the main process, in time, and restarts always`, () => {
      expect(service('Type')).toBe('exec');
      expect(service('KillSignal')).toBe('SIGTERM');
      // mixed: SIGTERM to the host alone (as Docker and Fly do), SIGKILL to what is left.
      expect(service('KillMode')).toBe('mixed');
      expect(service('Restart')).toBe('always');
      const stop = unitSeconds(service('TimeoutStopSec'), `${path} TimeoutStopSec`);
      if (command === 'worker') {
        const { graceS } = workerOptions(argv.slice(3), path);
        expect(stop).toBeGreaterThanOrEqual(graceS + shutdownBeyondGraceS());
      } else {
        expect(stop).toBeGreaterThanOrEqual(GATEWAY_DRAIN_S + 5);
      }
    });

    it(`${file}: runs as forklift, sandboxed, with its settings from /etc/forklift`, () => {
      expect(service('User')).toBe('forklift');
      for (const [key, value] of [
        ['NoNewPrivileges', 'yes'],
        ['ProtectSystem', 'strict'],
        ['ProtectHome', 'yes'],
        ['PrivateTmp', 'yes'],
      ]) {
        expect(service(key as string), key).toBe(value);
      }
      // ProtectSystem=strict leaves /dev/shm writable and PrivateTmp a private /tmp: all the run
      // boards need (the first test above); anything more would have to be justified here.
      expect(service('ReadWritePaths')).toBeUndefined();
      const files = settings(unit, 'Service', 'EnvironmentFile');
      expect(files).toContain('/etc/forklift/forklift.env');
      if (command === 'gateway') expect(files).toContain('/etc/forklift/gateway.env');
      for (const env of files) {
        expect(exists(`deploy/${posix.basename(env)}.example`), `${env}: example`).toBe(true);
      }
      expect(setting(unit, 'Install', 'WantedBy')).toBe('multi-user.target');
    });

    if (command === 'gateway') {
      it(`${file}: binds the loopback interface (a TLS proxy is the way in)`, () => {
        const flags = flagValues(argv.slice(3));
        const config = loadGatewayConfig(
          { FORKLIFT_GATEWAY_TOKENS: 'a'.repeat(64) },
          { port: flags.get('port'), host: flags.get('host') },
        );
        expect(config.host).toBe('127.0.0.1');
      });
    }
  }
});

describe('env examples (deploy/*.env.example)', () => {
  const forklift = envFile('deploy/forklift.env.example');
  const gateway = envFile('deploy/gateway.env.example');

  it('forklift.env: the CLI variables, valid', () => {
    expect(forklift.keys.sort()).toEqual([...CLI_VARIABLES].sort());
    expect(() => readCliEnv(Object.fromEntries(forklift.set))).not.toThrow();
  });

  it('gateway.env: gateway variables only; valid once a token is filled in, refused before', () => {
    expect(gateway.keys.filter((k) => !GATEWAY_VARIABLES.includes(k))).toEqual([]);
    expect(gateway.keys.filter((k) => CLI_VARIABLES.includes(k))).toEqual([]);
    const env = { ...Object.fromEntries(forklift.set), ...Object.fromEntries(gateway.set) };
    expect(() => loadGatewayConfig(env)).toThrow(/FORKLIFT_GATEWAY_TOKENS/);
    const filled = loadGatewayConfig({ ...env, FORKLIFT_GATEWAY_TOKENS: 'a'.repeat(64) });
    expect(filled.allow).not.toBeNull();
  });
});

describe('the edge: .dev.vars.example, wrangler.toml, npm run edge:deploy', () => {
  const wrangler = parseToml('wrangler.toml');
  const example = envFile('.dev.vars.example');

  it('.dev.vars.example names every variable the edge reads; only the secrets uncommented, empty', () => {
    expect(EDGE.secrets.length).toBeGreaterThan(0);
    expect(example.keys.sort()).toEqual([...new Set([...EDGE.all, ...WRANGLER_VARS])].sort());
    expect([...example.set.keys()].sort()).toEqual([...EDGE.secrets].sort());
    expect([...example.set.values()]).toEqual(EDGE.secrets.map(() => ''));
  });

  it('wrangler.toml names the secrets for `wrangler secret put` (or declares them required)', () => {
    const text = read('wrangler.toml');
    expect(text).toContain('wrangler secret put');
    for (const name of EDGE.secrets) expect(text, name).toContain(name);
    const declared = (wrangler.secrets as TomlTable | undefined)?.required;
    if (declared !== undefined) expect(strings(declared).sort()).toEqual([...EDGE.secrets].sort());
  });

  it('npm run edge:deploy runs wrangler deploy', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts['edge:deploy']).toBe('wrangler deploy');
  });
});

describe('deploy/prometheus and docs/deploy.md', () => {
  const metricNames = [...read('worker-host/metrics.ts').matchAll(/name: '(forklift_\w+)'/g)].map(
    (m) => m[1] as string,
  );
  const guide = read('docs/deploy.md');
  const codeLines = [...guide.matchAll(/```[a-z]*\n([\s\S]*?)```/g)]
    .flatMap((m) => (m[1] as string).replace(/\\\n\s*/g, ' ').split('\n'))
    .map((line) => line.trim());

  it('the rules use only metrics the host serves', () => {
    expect(metricNames.length).toBeGreaterThanOrEqual(4);
    for (const file of ['forklift-rules.yml', 'forklift-rules.test.yml']) {
      const used = [...read(`deploy/prometheus/${file}`).matchAll(/\bforklift_\w+/g)].map(
        (m) => m[0],
      );
      expect(
        used.filter((name) => !metricNames.includes(name)),
        file,
      ).toEqual([]);
    }
  });

  it('the guide lists every metric and every variable of every part', () => {
    const table = (first: RegExp) => [...guide.matchAll(first)].map((m) => m[1] as string);
    expect(table(/^\| `(forklift_\w+)` \|/gm).sort()).toEqual([...metricNames].sort());
    const variables = new Set([
      ...CLI_VARIABLES,
      ...GATEWAY_VARIABLES,
      ...EDGE.all,
      ...WRANGLER_VARS,
    ]);
    expect(table(/^\| `([A-Z][A-Z0-9_]+)` \|/gm).sort()).toEqual([...variables].sort());
  });

  it("the guide's CLI command lines are ones the CLI accepts", async () => {
    const lines = [
      ...codeLines.flatMap((line) => {
        const at = line.indexOf(`${ENTRY} `);
        return at < 0 ? [] : [line.slice(at + ENTRY.length + 1)];
      }),
      ...[...guide.matchAll(/`forklift ([a-z][^`]*)`/g)].map((m) => m[1] as string),
    ];
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      const argv = line
        .replace(/\s#.*$/, '')
        .trim()
        .split(/\s+/)
        .map((word) => word.replace(/^'(.*)'$/, '$1'));
      await expectAccepted(argv, `docs/deploy.md: ${line}`);
    }
  });

  it("the guide's npm scripts, files and links exist", () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    const scripts = [...guide.matchAll(/\bnpm (?:run ([\w:-]+)|(start|test)\b)/g)].map(
      (m) => (m[1] ?? m[2]) as string,
    );
    expect(scripts).toContain('edge:deploy');
    expect(scripts.filter((name) => !(name in pkg.scripts))).toEqual([]);
    const files = codeLines.flatMap((line) => line.match(/\bdeploy\/[\w./-]+\w/g) ?? []);
    const links = [...guide.matchAll(/\]\(\.\.\/([^)#]+)\)/g)].map((m) => m[1] as string);
    expect(files.length + links.length).toBeGreaterThan(10);
    expect([...files, ...links].filter((path) => !exists(path))).toEqual([]);
    const built = guide.match(/\bdist\/node\/[\w/.-]+\.js\b/g) ?? [];
    for (const path of built) {
      const source = path.replace(`${LAYOUT.outDir}/`, '').replace(/\.js$/, '.ts');
      expect(LAYOUT.built(source), path).toBe(path);
      expect(exists(source), `${path} is built from ${source}`).toBe(true);
    }
  });
});
