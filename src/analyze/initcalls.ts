/**
 * Kernel init calls: which level each function runs at (read from the
 * kernel's own initcall tables in vmlinux, located by System.map), and the
 * `initcall_debug` console lines (printk time stamps, durations).
 */
import { readFileSync } from 'node:fs';
import { parseElf } from '../elf/index.ts';

/** Levels in the order do_initcalls runs them (early ones run before SMP bring-up). */
export const initcallLevels = ['early', 'pure', 'core', 'postcore', 'arch', 'subsys', 'fs', 'rootfs', 'device', 'late'] as const;
export type InitcallLevel = (typeof initcallLevels)[number];
const levelStartSymbols: readonly [string, InitcallLevel][] = [
  ['__initcall_start', 'early'], ['__initcall0_start', 'pure'], ['__initcall1_start', 'core'], ['__initcall2_start', 'postcore'],
  ['__initcall3_start', 'arch'], ['__initcall4_start', 'subsys'], ['__initcall5_start', 'fs'], ['__initcallrootfs_start', 'rootfs'],
  ['__initcall6_start', 'device'], ['__initcall7_start', 'late'],
];

export interface SymbolMap {
  /** address → name (text symbols), for kernels without kallsyms. */
  readonly names: ReadonlyMap<bigint, string>;
  readonly byName: ReadonlyMap<string, bigint>;
}

export function parseSystemMap(text: string): SymbolMap {
  const names = new Map<bigint, string>();
  const byName = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{16}) (\S) (\S+)$/.exec(line);
    if (!m) continue;
    const addr = BigInt(`0x${m[1]}`);
    byName.set(m[3]!, addr);
    if (/[tT]/.test(m[2]!) && !names.has(addr)) names.set(addr, m[3]!);
  }
  return { names, byName };
}

/**
 * function address → level, decoding the initcall tables (32-bit offsets
 * relative to each entry with PREL32 relocations, else 64-bit pointers).
 */
export function initcallLevelsFromVmlinux(vmlinux: Buffer, map: SymbolMap, prel32: boolean): Map<bigint, InitcallLevel> {
  const elf = parseElf(vmlinux, 'vmlinux');
  const out = new Map<bigint, InitcallLevel>();
  const end = map.byName.get('__initcall_end');
  if (end === undefined) return out;
  const starts = levelStartSymbols.map(([s, l]) => [map.byName.get(s), l] as const).filter((x): x is readonly [bigint, InitcallLevel] => x[0] !== undefined);
  for (let i = 0; i < starts.length; i++) {
    const [from, level] = starts[i]!;
    const to = i + 1 < starts.length ? starts[i + 1]![0] : end;
    const step = prel32 ? 4n : 8n;
    for (let a = from; a < to; a += step) {
      const sec = elf.sections.find((s) => s.addr <= a && a < s.addr + BigInt(s.size) && s.type !== 8);
      if (!sec) continue;
      const off = sec.offset + Number(a - sec.addr);
      const fn = prel32 ? a + BigInt(vmlinux.readInt32LE(off)) : vmlinux.readBigUInt64LE(off);
      out.set(fn, level);
    }
  }
  return out;
}

export interface InitcallRun {
  readonly fn: string;
  readonly address?: bigint;
  /** printk time of the `calling` line, ms. */
  readonly startMs: number;
  /** printk time of the `initcall ... returned` line, ms. */
  readonly endMs: number;
  /** The kernel's own measurement ("after N usecs"), ms. */
  readonly durationMs: number;
  level?: InitcallLevel;
}

const stamp = /^\[\s*(\d+)\.(\d+)\]\s+/;
const ms = (s: string, frac: string) => Number(s) * 1000 + Number(frac.padEnd(6, '0').slice(0, 6)) / 1000;

/** `initcall_debug` lines of a console log, in order. */
export function parseInitcallLines(consoleText: string): InitcallRun[] {
  const open = new Map<string, number>();
  const runs: InitcallRun[] = [];
  for (const raw of consoleText.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const t = stamp.exec(line);
    if (!t) continue;
    const rest = line.slice(t[0].length);
    const at = ms(t[1]!, t[2]!);
    let m = /^calling\s+(\S+?)(?:\+0x[0-9a-f]+\/0x[0-9a-f]+)?\s+@\s+\d+/.exec(rest);
    if (m) { open.set(m[1]!, at); continue; }
    m = /^initcall\s+(\S+?)(?:\+0x[0-9a-f]+\/0x[0-9a-f]+)?\s+returned\s+-?\d+\s+after\s+(\d+)\s+usecs/.exec(rest);
    if (m) {
      const fn = m[1]!;
      const startMs = open.get(fn) ?? at;
      open.delete(fn);
      runs.push({ fn, ...(/^0x[0-9a-f]+$/.test(fn) ? { address: BigInt(fn) } : {}), startMs, endMs: at, durationMs: Number(m[2]) / 1000 });
    }
  }
  return runs;
}

/** Give each run its level and, for address-only lines (no kallsyms), its System.map name. */
export function labelInitcalls(runs: InitcallRun[], map: SymbolMap | undefined, levels: ReadonlyMap<bigint, InitcallLevel>): InitcallRun[] {
  return runs.map((r) => {
    const addr = r.address ?? map?.byName.get(r.fn);
    const name = r.address !== undefined ? map?.names.get(r.address) ?? r.fn : r.fn;
    const level = addr !== undefined ? levels.get(addr) : undefined;
    return { ...r, fn: name, ...(level ? { level } : {}) };
  });
}

export function readIfExists(path: string | undefined): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}
