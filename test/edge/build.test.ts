/**
 * The Worker builds offline the way CI builds it (`wrangler deploy --dry-run --outdir …`), its
 * generated bindings type is up to date, and nothing from Node or the worker host gets into it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, expect, test } from 'vitest';
import { WORKERD_BUILD_OPTIONS } from '../support/edge.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const wrangler = join(root, 'node_modules/.bin/wrangler');
/** Wrangler without telemetry, update checks or banners (see toolchain.md). */
const OFFLINE_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  NO_COLOR: '1',
};
/** A generous ceiling, to notice a dependency that drags half of npm into the Worker. */
const GZIP_BUDGET_BYTES = 256 * 1024;

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test('wrangler deploy --dry-run --outdir builds the Worker offline', async () => {
  const outdir = await mkdtemp(join(tmpdir(), 'forklift-edge-'));
  dirs.push(outdir);
  const { stdout } = await run(wrangler, ['deploy', '--dry-run', '--outdir', outdir], {
    cwd: root,
    env: OFFLINE_ENV,
    timeout: 60_000,
  });
  expect(stdout).toContain('--dry-run: exiting now.');
  expect(await readdir(outdir)).toContain('index.js');
  const bundle = await readFile(join(outdir, 'index.js'));
  expect((await stat(join(outdir, 'index.js'))).size).toBeGreaterThan(10_000);
  expect(gzipSync(bundle).byteLength).toBeLessThan(GZIP_BUDGET_BYTES);
  expect(bundle.toString()).not.toMatch(/from\s*["']node:|require\(["']node:/);
}, 90_000);

test('edge/worker-configuration.d.ts matches wrangler.toml (wrangler types --check)', async () => {
  const { stdout } = await run(
    wrangler,
    [
      'types',
      'edge/worker-configuration.d.ts',
      '--include-runtime=false',
      '--strict-vars=false',
      '--check',
    ],
    { cwd: root, env: OFFLINE_ENV, timeout: 60_000 },
  );
  expect(stdout).toContain('up to date');
}, 90_000);

test('the bundle takes nothing from Node, ioredis or the worker host', async () => {
  const result = await build({
    ...WORKERD_BUILD_OPTIONS,
    entryPoints: [join(root, 'edge/index.ts')],
    write: false,
    metafile: true,
  });
  const inputs = Object.keys(result.metafile.inputs);
  expect(
    inputs.filter((path) => /ioredis|worker-host\/|pino|@hono\/node-server/.test(path)),
  ).toEqual([]);
  const imports = Object.values(result.metafile.inputs).flatMap((input) =>
    input.imports.map((i) => i.path),
  );
  expect(imports.filter((path) => path.startsWith('node:'))).toEqual([]);
  // Only edge/ and shared/ are our own code in it.
  const own = inputs.filter((path) => !path.startsWith('node_modules/'));
  expect(own.filter((path) => !/^(edge|shared)\//.test(path))).toEqual([]);
});
