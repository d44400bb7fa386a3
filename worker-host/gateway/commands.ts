/**
 * Which commands the gateway runs, for whom. The classification itself is the table in
 * command-table.ts; this module applies it, in this order:
 * 1. Unclassified (not in the table): refused for everyone, `ERR unknown command …`.
 * 2. Refused for everyone: commands that would corrupt or stall a pooled connection (blocking
 *    commands, connection state and modes such as SCRIPT DEBUG, pub/sub mode, MULTI/EXEC outside
 *    `/multi-exec`, MONITOR, replication), server administration, SCRIPT/FUNCTION KILL. The
 *    gateway answers these itself; Redis never sees them.
 * 3. The deployment's allowlist (`FORKLIFT_GATEWAY_ALLOW`), if set.
 * 4. Read-only tokens: only commands the table marks `any`.
 * 5. Lua: a read-only token may run only Forklift's read-only scripts (EVAL_RO / EVALSHA_RO);
 *    under the `forklift` preset, EVAL*, EVALSHA* and SCRIPT LOAD accept only Forklift's own
 *    scripts (forklift-scripts.ts).
 *
 * A refusal is a Redis-style error text (`ERR …` / `NOPERM …`), answered like a Redis error.
 */
import {
  type Classified,
  COMMAND_TABLE,
  CONTAINER_COMMANDS,
  classify,
  type LuaUse,
  READ_ONLY_EXTRAS,
  REASONS,
} from './command-table.js';
import type { AllowList } from './config.js';
import {
  FORKLIFT_CLIENT_SCRIPTS,
  forkliftScriptByBody,
  forkliftScriptBySha,
} from './forklift-scripts.js';

export { READ_ONLY_EXTRAS };

/** Full access or read commands only. */
export type Access = 'full' | 'readonly';

/** A command argument as sent to Redis: text, or raw bytes (a path-style request body). */
export type CommandArg = string | Buffer;

/** The argument as text, for classification only (bytes are read as Latin-1, never fail). */
function word(arg: CommandArg | undefined): string | undefined {
  return typeof arg === 'string' || arg === undefined ? arg : arg.toString('latin1');
}

/** SSE streams only (`/subscribe/<channel>`, `/psubscribe/<pattern>`): every token may open one. */
const SSE_COMMANDS: readonly string[] = ['SUBSCRIBE', 'PSUBSCRIBE'];

/**
 * Commands a read-only token may run: every command (or `NAME|SUB`) the table marks `any`
 * (those Redis flags `readonly`, plus {@link READ_ONLY_EXTRAS}), and the SSE subscriptions.
 */
export const READ_ONLY_COMMANDS: ReadonlySet<string> = new Set([
  ...[...COMMAND_TABLE].flatMap(([name, rule]) =>
    rule.kind === 'run' && rule.audience === 'any' ? [name] : [],
  ),
  ...SSE_COMMANDS,
]);

/** Command name and, for container commands, the subcommand; both upper-cased. */
export interface CommandName {
  name: string;
  sub: string | undefined;
}

/** Extracts the upper-cased command name (and subcommand of a container command). */
export function commandName(args: readonly CommandArg[]): CommandName {
  const name = (word(args[0]) ?? '').toUpperCase();
  const sub = CONTAINER_COMMANDS.has(name) ? word(args[1])?.toUpperCase() : undefined;
  return { name, sub };
}

/** `name` or `name|sub`, lower-case, as Redis prints it in errors. */
function display({ name, sub }: CommandName): string {
  return (sub === undefined ? name : `${name}|${sub}`).toLowerCase();
}

/** At most 128 characters of a caller's argument, for an error text. */
const clip = (text: string | undefined): string => (text ?? '').slice(0, 128);

/** XREAD / XREADGROUP with a BLOCK option before STREAMS. */
function isBlockingRead(name: string, args: readonly CommandArg[]): boolean {
  if (name !== 'XREAD' && name !== 'XREADGROUP') return false;
  for (let i = 1; i < args.length; i++) {
    const option = word(args[i])?.toUpperCase();
    if (option === 'STREAMS') return false;
    if (option === 'BLOCK') return true;
  }
  return false;
}

const UNCLASSIFIED = 'the REST gateway refuses commands it has not classified';

/** The refusal text for a command the table does not classify. */
function unclassified(args: readonly CommandArg[], cn: CommandName): string {
  return cn.sub !== undefined && COMMAND_TABLE.has(cn.name)
    ? `ERR unknown subcommand '${clip(word(args[1]))}' of '${cn.name.toLowerCase()}': ${UNCLASSIFIED}`
    : `ERR unknown command '${clip(word(args[0]))}': ${UNCLASSIFIED}`;
}

/** The classification, or the refusal text for everyone. */
function classifyOrRefuse(args: readonly CommandArg[], cn: CommandName): Classified | string {
  const found = classify(cn.name, cn.sub);
  if (found === null) return unclassified(args, cn);
  const { key, rule } = found;
  const reason =
    rule.kind === 'refused' ? rule.reason : isBlockingRead(cn.name, args) ? REASONS.blocking : null;
  if (reason === null) return found;
  return `ERR command '${key.toLowerCase()}' is not supported by the REST gateway: ${reason}`;
}

/**
 * Why the gateway refuses this command for everyone (refused or unclassified), or `null` if it
 * may run for someone.
 * @example refusal(['blpop', 'q', '0']) // "ERR command 'blpop' is not supported …"
 */
export function refusal(args: readonly CommandArg[]): string | null {
  const outcome = classifyOrRefuse(args, commandName(args));
  return typeof outcome === 'string' ? outcome : null;
}

/**
 * Which kill command stops this command's Lua if it runs too long: `SCRIPT` (EVAL*), `FUNCTION`
 * (FCALL*), or `null` when it runs no Lua.
 */
export function scriptKillKind(args: readonly CommandArg[]): 'SCRIPT' | 'FUNCTION' | null {
  const first = word(args[0]);
  // Cheap pre-check: every Lua-running command starts with E or F.
  const c = first?.charCodeAt(0) ?? 0;
  if (c !== 69 && c !== 101 && c !== 70 && c !== 102) return null;
  const found = classify(first?.toUpperCase() ?? '', undefined);
  const lua = found?.rule.kind === 'run' ? found.rule.lua : undefined;
  if (lua === 'eval' || lua === 'evalsha') return 'SCRIPT';
  return lua === 'fcall' ? 'FUNCTION' : null;
}

/** Whether `set` holds the command itself or its `NAME|SUB` form. */
function listed(set: ReadonlySet<string>, { name, sub }: CommandName): boolean {
  return set.has(name) || (sub !== undefined && set.has(`${name}|${sub}`));
}

const names = (readOnly: boolean): string =>
  FORKLIFT_CLIENT_SCRIPTS.filter((s) => s.readOnly || !readOnly)
    .map((s) => s.name)
    .join(', ');
const ALL_SCRIPT_NAMES = names(false);
const READ_ONLY_SCRIPT_NAMES = names(true);

/** Decides, per command, whether a caller may run it. */
export class CommandPolicy {
  /** @param allow the parsed allowlist, or `null` for no allowlist. */
  constructor(private readonly allow: AllowList | null) {}

  /**
   * The error text to answer instead of running the command, or `null` to run it.
   * `args[0]` is the command name.
   */
  check(args: readonly CommandArg[], access: Access): string | null {
    if (args.length === 0 || args[0]?.length === 0) return 'ERR empty command';
    const cn = commandName(args);
    const found = classifyOrRefuse(args, cn);
    if (typeof found === 'string') return found;
    const denied = this.permission(cn, access);
    if (denied !== null) return denied;
    const { rule } = found;
    return rule.kind === 'run' && rule.lua !== undefined
      ? this.lua(rule.lua, args, cn, access)
      : null;
  }

  /** Allowlist and read-only checks only (also for SSE subscribe, which is not a pooled command). */
  permission(cn: CommandName, access: Access): string | null {
    if (this.allow !== null && !listed(this.allow.commands, cn)) {
      return `NOPERM command '${display(cn)}' is not in this gateway's allowlist`;
    }
    if (access === 'readonly' && !listed(READ_ONLY_COMMANDS, cn)) {
      return `NOPERM this user has no permissions to run the '${display(cn)}' command`;
    }
    return null;
  }

  /** The script rules: which Lua a read-only token, or a token under the preset, may run. */
  private lua(
    use: LuaUse,
    args: readonly CommandArg[],
    cn: CommandName,
    access: Access,
  ): string | null {
    // FCALL runs only functions a full token loaded earlier; FUNCTION LOAD is not in the preset.
    if (use === 'fcall') return null;
    const readOnly = access === 'readonly';
    if (!readOnly && !this.allow?.forkliftScriptsOnly) return null;
    const script =
      use === 'evalsha'
        ? forkliftScriptBySha(args[1])
        : forkliftScriptByBody(use === 'load' ? args[2] : args[1]);
    if (readOnly) {
      if (script?.readOnly) return null;
      return `NOPERM read-only tokens may run only Forklift's read-only scripts (${READ_ONLY_SCRIPT_NAMES}); '${display(cn)}' was given another script`;
    }
    if (script !== null) return null;
    const given =
      use === 'evalsha'
        ? `the SHA1 '${clip(word(args[1]))}' names none of them`
        : 'this script is not one of them';
    return `NOPERM FORKLIFT_GATEWAY_ALLOW=forklift lets '${display(cn)}' run only Forklift's own scripts (${ALL_SCRIPT_NAMES}); ${given}`;
  }
}
