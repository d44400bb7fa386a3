/**
 * `forklift dashboard` as a user runs it (from source, through tsx): it refuses to start without
 * a token, naming FORKLIFT_API_TOKENS; started, it serves the login page and a session, and it
 * stops on SIGTERM with exit code 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, expect, it } from 'vitest';
import { ROOT, runForklift, TSX } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { deleteNamespace, TEST_REDIS_URL, testNamespace, testRedis } from '../support/redis.js';

const redis = testRedis();
const namespace = testNamespace('ui-command');
const TOKEN = 'cmd-token-0123456789';
const env = {
  ...process.env,
  REDIS_URL: TEST_REDIS_URL,
  FORKLIFT_NAMESPACE: namespace,
  FORKLIFT_API_TOKENS: TOKEN,
  FORKLIFT_API_READONLY_TOKENS: 'cmd-read-token-0123456789',
};
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await deleteNamespace(redis, namespace);
  redis.disconnect();
});

it('refuses to start without FORKLIFT_API_TOKENS', async () => {
  const run = await runForklift(['dashboard', '--port', '0'], { ...env, FORKLIFT_API_TOKENS: '' });
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('FORKLIFT_API_TOKENS');
});

it('serves /ui/login, a session and the overview, and stops on SIGTERM', async () => {
  const port = await freePort();
  const child = spawn(TSX, ['worker-host/cli/main.ts', 'dashboard', '--port', String(port)], {
    cwd: ROOT,
    env,
  });
  children.push(child);
  let stdout = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  const deadline = Date.now() + 20_000;
  while (!stdout.includes('/ui') && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(stdout).toContain(`http://localhost:${port}/ui`);
  expect(stdout).not.toContain(TOKEN);
  const base = `http://localhost:${port}`;
  const slash = await fetch(`${base}/ui/`, { redirect: 'manual' });
  expect(slash.status).toBe(301);
  expect(slash.headers.get('location')).toBe('/ui');
  const login = await fetch(`${base}/ui/login`);
  expect(login.status).toBe(200);
  expect(await login.text()).toContain('data-testid="login-token"');
  expect(login.headers.get('content-security-policy')).toContain("default-src 'none'");

  const signed = await fetch(`${base}/ui/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${TOKEN}`,
  });
  expect(signed.status).toBe(303);
  const cookie = (signed.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const overview = await fetch(`${base}/ui`, { headers: { cookie } });
  expect(overview.status).toBe(200);
  expect(await overview.text()).toContain('data-testid="count-normal"');

  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  expect(code).toBe(0);
}, 40_000);
