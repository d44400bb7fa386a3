/**
 * Starting one pool child: `child_process.fork` of child-main (the compiled .js in production,
 * the .ts source in development and tests), with the handlers module in FORKLIFT_HANDLERS and
 * its slot's settings in FORKLIFT_CHILD, JSON IPC, stdin closed, stdout and stderr shared with
 * the host.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChildConfig } from './protocol.js';

/** The child entry point beside this module. */
const CHILD_MAIN = fileURLToPath(
  new URL(`./child-main.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url),
);

/**
 * Node options of a child: the parent's. A child started from the TypeScript sources needs a TS
 * loader; tsx passes its own along, but a parent that compiles in-process (vitest) has none,
 * so tsx's loader is added then.
 */
function childExecArgv(): string[] {
  if (!CHILD_MAIN.endsWith('.ts') || process.execArgv.some((arg) => arg.includes('tsx')))
    return process.execArgv;
  try {
    const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    return [...process.execArgv, '--import', loader];
  } catch {
    return process.execArgv;
  }
}

/**
 * Forks a child that will import `handlersModule` and serve its slot as `config` says, with its
 * run board (`boardFd`, run-board.ts) as its fd 4.
 */
export function forkChild(
  handlersModule: string,
  config: ChildConfig,
  boardFd: number,
): ChildProcess {
  return fork(CHILD_MAIN, [], {
    execArgv: childExecArgv(),
    env: {
      ...process.env,
      FORKLIFT_HANDLERS: handlersModule,
      FORKLIFT_CHILD: JSON.stringify(config),
    },
    serialization: 'json',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc', boardFd],
  });
}
