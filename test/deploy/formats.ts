/**
 * Readers for the deployment files' formats (TOML, systemd units, Dockerfiles, .dockerignore,
 * env files), each just as much of its format as the files use; anything else is an error, so a
 * file that outgrows its reader fails the test rather than being misread.
 * Used by config-files.test.ts; paths are relative to the repository root.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The text of a file of the repository. */
export const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

/** The part of a line before a `#` that is not inside quotes. */
export function uncommented(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#') return line.slice(0, i);
  }
  return line;
}

export function tomlValue(text: string, where: string): TomlValue {
  const t = text.trim();
  if (/^"[^"\\]*"$/.test(t) || /^'[^']*'$/.test(t)) return t.slice(1, -1);
  if (/^-?\d+$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  if (t.startsWith('[') && t.endsWith(']')) {
    const inner = t.slice(1, -1).trim();
    return inner === ''
      ? []
      : (inner.match(/"[^"]*"|'[^']*'|[^,\s][^,]*/g) ?? []).map((item) => tomlValue(item, where));
  }
  throw new Error(`${where}: a TOML value this test does not read: ${t}`);
}

export function tomlTableAt(root: TomlTable, path: readonly string[], where: string): TomlTable {
  let table = root;
  for (const key of path) {
    table[key] ??= {};
    const next = table[key];
    const resolved = Array.isArray(next) ? next.at(-1) : next;
    if (typeof resolved !== 'object' || resolved === null || Array.isArray(resolved)) {
      throw new Error(`${where}: ${path.join('.')} is not a table`);
    }
    table = resolved;
  }
  return table;
}

/** TOML: tables, arrays of tables, strings, integers, booleans, one-line arrays. */
export function parseToml(path: string): TomlTable {
  const root: TomlTable = {};
  let current = root;
  read(path)
    .split('\n')
    .forEach((raw, i) => {
      const line = uncommented(raw).trim();
      const where = `${path}:${i + 1}`;
      if (line === '') return;
      const arrayTable = /^\[\[([\w.-]+)\]\]$/.exec(line)?.[1];
      if (arrayTable) {
        const keys = arrayTable.split('.');
        const parent = tomlTableAt(root, keys.slice(0, -1), where);
        const key = keys.at(-1) as string;
        parent[key] ??= [];
        const list = parent[key];
        if (!Array.isArray(list)) throw new Error(`${where}: ${arrayTable} is not an array`);
        current = {};
        list.push(current);
        return;
      }
      const table = /^\[([\w.-]+)\]$/.exec(line)?.[1];
      if (table) {
        current = tomlTableAt(root, table.split('.'), where);
        return;
      }
      const pair = /^([\w-]+)\s*=\s*(.+)$/.exec(line);
      if (!pair) throw new Error(`${where}: a TOML line this test does not read: ${raw}`);
      const key = pair[1] as string;
      if (key in current) throw new Error(`${where}: ${key} is set twice`);
      current[key] = tomlValue(pair[2] as string, where);
    });
  return root;
}

export const tables = (value: TomlValue | undefined): TomlTable[] =>
  value === undefined ? [] : Array.isArray(value) ? (value as TomlTable[]) : [value as TomlTable];
export const strings = (value: TomlValue | undefined): string[] =>
  Array.isArray(value) ? value.map(String) : [];

/** A command line of plain words (no quoting, expansion or operators), as Fly and systemd split it. */
export function words(command: string, where: string): string[] {
  if (/['"$;&|<>`\\]/.test(command)) {
    throw new Error(`${where}: this test reads plain commands only: ${command}`);
  }
  return command.trim().split(/\s+/);
}

/** A systemd unit: each section's settings in order (a key may repeat). */
export function parseUnit(path: string): Map<string, [string, string][]> {
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] | undefined;
  read(path)
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
      const where = `${path}:${i + 1}`;
      if (line.endsWith('\\')) throw new Error(`${where}: continued lines are not read here`);
      const section = /^\[(\w+)\]$/.exec(line)?.[1];
      if (section) {
        current = [];
        sections.set(section, current);
        return;
      }
      const pair = /^(\w+)=(.*)$/.exec(line);
      if (!pair || !current) throw new Error(`${where}: not a unit setting: ${raw}`);
      current.push([pair[1] as string, (pair[2] as string).trim()]);
    });
  return sections;
}

export const settings = (unit: Map<string, [string, string][]>, section: string, key: string) =>
  (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
export const setting = (unit: Map<string, [string, string][]>, section: string, key: string) =>
  settings(unit, section, key).at(-1);

/** `50`, `50s`: a systemd time span in seconds. */
export function unitSeconds(value: string | undefined, where: string): number {
  const s = /^(\d+)s?$/.exec(value ?? '')?.[1];
  if (s === undefined) throw new Error(`${where}: not a number of seconds: ${value}`);
  return Number(s);
}

export interface DockerStage {
  from: string;
  name: string | undefined;
  steps: { op: string; args: string }[];
}

/** A Dockerfile: its global ARG defaults and its stages, continuation lines joined. */
export function parseDockerfile(path: string): {
  args: Map<string, string>;
  stages: DockerStage[];
} {
  const lines = read(path)
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const args = new Map<string, string>();
  const stages: DockerStage[] = [];
  for (const line of lines) {
    const [op = '', ...rest] = line.split(/\s+/);
    const text = rest.join(' ');
    if (op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(text);
      if (!m) throw new Error(`${path}: FROM ${text}`);
      const from = (m[1] as string).replace(/\$\{(\w+)\}/g, (_, name) => args.get(name) ?? '');
      stages.push({ from, name: m[2], steps: [] });
    } else if (op === 'ARG' && stages.length === 0) {
      const [name = '', value = ''] = text.split('=');
      args.set(name, value);
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${path}: ${op} before FROM`);
      stage.steps.push({ op, args: text });
    }
  }
  return { args, stages };
}

/** An exec-form instruction's JSON array. */
export function execForm(step: { op: string; args: string } | undefined, what: string): string[] {
  if (!step) throw new Error(`the Dockerfile has no ${what}`);
  const value = JSON.parse(step.args) as unknown;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new Error(`${what} must be in exec form (a JSON array of strings): ${step.args}`);
  }
  return value;
}

/** Whether `.dockerignore` patterns exclude `path` (a directory excludes what is under it). */
export function dockerIgnored(path: string, patterns: readonly string[]): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = posix.normalize((negated ? raw.slice(1) : raw).replace(/^\/+/, ''));
    const source = pattern
      .split(/(\*\*\/|\*\*|\*|\?)/)
      .map((part) =>
        part === '**/'
          ? '(?:.*/)?'
          : part === '**'
            ? '.*'
            : part === '*'
              ? '[^/]*'
              : part === '?'
                ? '[^/]'
                : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
      )
      .join('');
    if (new RegExp(`^${source}(?:/.*)?$`).test(path)) ignored = !negated;
  }
  return ignored;
}

/** Every file under `dir` (relative to the root), skipping nothing. */
export function filesUnder(dir: string): string[] {
  return (readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' }) as string[])
    .map((file) => posix.join(dir, file.split(/[\\/]/).join('/')))
    .filter((file) => statSync(join(ROOT, file)).isFile());
}

/** KEY=value lines of an env file: every key, and the uncommented ones with their values. */
export function envFile(path: string): { keys: string[]; set: Map<string, string> } {
  const keys: string[] = [];
  const set = new Map<string, string>();
  for (const line of read(path).split('\n')) {
    const m = /^(#\s*)?([A-Z][A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    keys.push(m[2] as string);
    if (!m[1]) set.set(m[2] as string, m[3] as string);
  }
  return { keys, set };
}
