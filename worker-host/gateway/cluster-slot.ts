/**
 * Redis Cluster key slots: which of the 16384 slots a key, and a command's keys, hash to.
 *
 * The slot is CRC16 (XMODEM) of the key, or of its hash tag (the part between the first `{`
 * and the next `}`, when not empty), modulo 16384, exactly as Redis computes it. A command's
 * keys are found as ioredis finds them (from Redis's command specs, EVAL/FCALL by their
 * declared key count).
 */
import { Command } from 'ioredis';
import type { CommandArg } from './commands.js';

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) ^ (TABLE[((crc >> 8) ^ (bytes[i] as number)) & 0xff] as number)) & 0xffff;
  }
  return crc;
}

/**
 * The slot of one key (strings are UTF-8, as Redis receives them).
 * @example keySlot('{q}:tasks') === keySlot('q') // true
 */
export function keySlot(key: string | Buffer): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(bytes, open + 1, close) % 16384;
  }
  return crc16(bytes, 0, bytes.length) % 16384;
}

/** The keys of a command (`args[0]` is its name); empty for a keyless or unknown command. */
export function commandKeys(args: readonly CommandArg[]): (string | Buffer)[] {
  const [name, ...rest] = args;
  if (name === undefined) return [];
  try {
    return new Command(String(name), rest as (string | Buffer)[]).getKeys();
  } catch {
    // A malformed key count (EVAL with 'x' keys): Redis answers it; any master will do.
    return [];
  }
}

/** The distinct slots of a command's keys (none for a keyless command). */
export function commandSlots(args: readonly CommandArg[]): Set<number> {
  return new Set(commandKeys(args).map(keySlot));
}

/** Redis's own answer to keys of one request in several slots. */
export const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";
