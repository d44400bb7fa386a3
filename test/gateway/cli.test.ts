/**
 * `forklift gateway` as a process: flag and config errors (exit 2, naming the flag or variable),
 * `--help`, and a real run that serves requests and exits 0 on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type CliRun, ROOT, runForklift, TSX } from '../support/cli.js';

/** `forklift gateway ARGS` with no gateway tokens but those of `env`. */
function forklift(args: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  return runForklift(['gateway', ...args], {
    ...process.env,
    FORKLIFT_GATEWAY_TOKENS: undefined,
    ...env,
  });
}

describe('forklift gateway', () => {
  it('rejects an unknown flag with exit 2', async () => {
    const run = await forklift(['--bogus'], { FORKLIFT_GATEWAY_TOKENS: 't' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/forklift: gateway: Unknown option '--bogus'/);
  });

  it('refuses to start without tokens, naming the variable', async () => {
    const run = await forklift([], { FORKLIFT_GATEWAY_TOKENS: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/FORKLIFT_GATEWAY_TOKENS is empty/);
  });

  it('names a bad flag value', async () => {
    const run = await forklift(['--port', 'eighty'], { FORKLIFT_GATEWAY_TOKENS: 't' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--port: must be an integer from 0 to 65535, got 'eighty'/);
  });

  it('prints help', async () => {
    const run = await forklift(['--help'], {});
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/usage: forklift gateway/);
    expect(run.stdout).toMatch(/FORKLIFT_GATEWAY_MAX_BODY_BYTES/);
  });

  it('serves until SIGTERM, then exits 0 without logging the token', async () => {
    const token = `cli-${Math.random().toString(36).slice(2)}`;
    const child = spawn(TSX, ['worker-host/cli/main.ts', 'gateway', '--port', '0'], {
      cwd: ROOT,
      env: { ...process.env, FORKLIFT_GATEWAY_TOKENS: token, FORKLIFT_LOG_LEVEL: 'debug' },
    });
    let out = '';
    child.stderr.on('data', (d) => {
      out += d;
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in: ${out}`)), 15_000);
      child.stdout.on('data', (d) => {
        out += d;
        const match = /"url":"(http:\/\/[^"]+)"/.exec(out);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    const res = await fetch(`${url}/echo/hi?_token=${token}`);
    expect(await res.json()).toEqual({ result: 'hi' });
    const bad = await fetch(`${url}/echo/hi`, { headers: { authorization: `Bearer ${token}x` } });
    expect(bad.status).toBe(401);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(out).toMatch(/"msg":"request"/);
    expect(out).toMatch(/gateway stopped/);
    expect(out).not.toContain(token);
  });
});
