/**
 * Running the `forklift` CLI from source as a child process, as a user would, and collecting
 * what it printed.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the CLI runs from there). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The tsx binary that runs the CLI from source. */
export const TSX = join(ROOT, 'node_modules/.bin/tsx');

/** What a finished CLI run printed. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `forklift ARGS` to completion with `env`. */
export async function runForklift(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const child = spawn(TSX, ['worker-host/cli/main.ts', ...args], { cwd: ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const [code] = await once(child, 'exit');
  return { code: code as number | null, stdout, stderr };
}
