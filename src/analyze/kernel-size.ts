/**
 * Kernel size by ELF section and by subsystem (source directory).
 *
 * Method: every allocated section of the unstripped vmlinux is cut at the
 * addresses of its symbols; the bytes from one symbol to the next belong to
 * the object file that defines the symbol (names resolved through
 * `nm -A vmlinux.a lib.a`; same-named statics told apart by the symbol
 * table's FILE entries). So the subsystem sizes add up to the section sizes
 * by construction; bytes before a section's first known symbol (linker
 * padding, linker-made tables) are listed as "(linker)".
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readElfFile, readSymbols, SHT_NOBITS, type ElfFile, type SectionHeader } from '../elf/index.ts';
import type { TargetArch } from '../config/arch.ts';
import { symbolArchives } from '../kernel/custom/cache.ts';
import { exec } from '../util/exec.ts';

export type SectionGroup = 'text' | 'rodata' | 'data' | 'bss' | 'init';
export const sectionGroups: readonly SectionGroup[] = ['text', 'rodata', 'data', 'init', 'bss'];

export interface SectionSize {
  readonly name: string;
  readonly group: SectionGroup;
  readonly bytes: number;
}

export interface ObjectSize {
  /** Object file path in the kernel tree (e.g. fs/ext4/inode.o) or "(linker)". */
  readonly object: string;
  readonly subsystem: string;
  readonly bytes: Readonly<Record<SectionGroup, number>>;
  readonly total: number;
}

export interface KernelSize {
  readonly sections: readonly SectionSize[];
  readonly groupTotals: Readonly<Record<SectionGroup, number>>;
  readonly objects: readonly ObjectSize[];
  /** Summed per subsystem, largest first. */
  readonly subsystems: readonly ObjectSize[];
  /** Bytes of the allocated sections (what the kernel occupies in memory). */
  readonly total: number;
}

const SHF_WRITE = 1n;
const SHF_ALLOC = 2n;
const SHF_EXECINSTR = 4n;
export const LINKER = '(linker)';
export const PADDING = '(padding)';
/** An empty stretch this long after a sized symbol is layout padding, not the object's. */
const PAD_SIZED = 4096;
/** After an unsized (assembly) label, only a really long stretch counts as padding. */
const PAD_UNSIZED = 64 * 1024;

const zero = (): Record<SectionGroup, number> => ({ text: 0, rodata: 0, data: 0, bss: 0, init: 0 });

/** Sections of the x86-64 init region, for a vmlinux without symbols (no __init_begin/__init_end). */
const initByName = /^\.(init|exit)\.|^\.(x86_cpu_dev\.init|parainstructions|altinstructions|altinstr_replacement|altinstr_aux|apicdrivers|retpoline_sites|return_sites|call_sites|ibt_endbr_seal|smp_locks)$/;

/** Which of the five classic groups a vmlinux section belongs to. */
export function classifySection(s: SectionHeader, initStart: bigint, initEnd: bigint): SectionGroup {
  if (initEnd > initStart ? s.addr >= initStart && s.addr < initEnd : initByName.test(s.name)) return 'init'; // freed after boot
  if (s.type === SHT_NOBITS) return 'bss';
  if (s.flags & SHF_EXECINSTR) return 'text';
  if (s.name.includes('rodata') || !(s.flags & SHF_WRITE)) return 'rodata';
  return 'data';
}

/**
 * Subsystem of an object path: its directory, two levels deep (drivers/virtio,
 * fs/ext4, net/ipv4, kernel/sched), three under arch/ (arch/x86/kernel).
 */
export function subsystemOf(object: string): string {
  if (object === LINKER || object === PADDING) return object;
  const parts = dirname(object).split('/').filter((p) => p !== '.');
  if (parts.length === 0) return '(top)';
  return parts.slice(0, parts[0] === 'arch' ? 3 : 2).join('/');
}

/** symbol name → defining object files, from `nm -A --defined-only` (the target's own nm) over the kernel's archives. */
export async function symbolObjects(treeDir: string, arch: TargetArch): Promise<Map<string, string[]>> {
  const archives = symbolArchives(arch).filter((a) => existsSync(join(treeDir, a)));
  const r = await exec(`${arch.kernel.crossCompile}nm`, ['-A', '--defined-only', ...archives], { cwd: treeDir });
  return parseNmArchive(r.stdout);
}

export function parseNmArchive(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    // "vmlinux.a:kernel/fork.o:ffffffff81000000 T copy_process"
    const m = /^[^:]+:([^:]+\.o):\S*\s+([A-Za-z])\s+(\S+)$/.exec(line.trim());
    if (!m || m[2] === 'a' || m[2] === 'A') continue;
    const list = map.get(m[3]!) ?? [];
    if (!list.includes(m[1]!)) list.push(m[1]!);
    map.set(m[3]!, list);
  }
  return map;
}

/** Object of one symbol: unique name, else the candidate whose file name matches the current FILE symbol. */
function pickObject(candidates: readonly string[] | undefined, fileSym: string | undefined): string | undefined {
  if (!candidates || candidates.length === 0) return undefined;
  if (candidates.length === 1) return candidates[0];
  if (fileSym) {
    const stem = fileSym.replace(/\.[cS]$/, '');
    const hit = candidates.find((c) => basename(c, '.o') === stem);
    if (hit) return hit;
  }
  return candidates[0];
}

/** A symbol as the attribution needs it: ELF symtab entries, or `nm -S` lines when only those are kept. */
export interface SizedSymbol {
  readonly name: string;
  readonly value: bigint;
  readonly size: number;
  /** FILE symbol in force (symtab order), to tell same-named statics apart. */
  readonly fileSym?: string;
}

export function analyzeKernelElf(elf: ElfFile, objectsOf: ReadonlyMap<string, readonly string[]>): KernelSize {
  const out: SizedSymbol[] = [];
  let fileSym: string | undefined;
  for (const sym of readSymbols(elf, 'symtab')) {
    if (sym.type === 'FILE') {
      fileSym = sym.name;
      continue;
    }
    if (sym.bind !== 'LOCAL') fileSym = undefined; // globals follow all locals: FILE context is over
    if (sym.type === 'SECTION' || !sym.name || sym.sectionIndex === 0 || sym.sectionIndex >= 0xff00) continue;
    out.push({ name: sym.name, value: sym.value, size: sym.size, ...(fileSym ? { fileSym } : {}) });
  }
  return attribute(elf, out, objectsOf);
}

/** `nm -S --radix=d` text (the kernel cache's symbols.txt): decimal, possibly negative (signed) addresses. */
export function parseNmSizes(text: string): SizedSymbol[] {
  const out: SizedSymbol[] = [];
  for (const line of text.split('\n')) {
    const m = /^(-?\d+) (\d+) ([A-Za-z]) (\S+)$/.exec(line.trim());
    if (!m || m[3] === 'a' || m[3] === 'A' || m[3] === 'U') continue;
    let v = BigInt(m[1]!);
    if (v < 0n) v += 1n << 64n;
    out.push({ name: m[4]!, value: v, size: Number(m[2]) });
  }
  return out;
}

function attribute(elf: ElfFile, symbols: readonly SizedSymbol[], objectsOf: ReadonlyMap<string, readonly string[]>): KernelSize {
  const find = (n: string) => symbols.find((s) => s.name === n)?.value;
  const initStart = find('__init_begin') ?? 0n;
  const initEnd = find('__init_end') ?? 0n;
  const alloc = elf.sections.filter((s) => (s.flags & SHF_ALLOC) !== 0n && s.size > 0);
  const sections: SectionSize[] = alloc.map((s) => ({ name: s.name, group: classifySection(s, initStart, initEnd), bytes: s.size }));
  const groupTotals = zero();
  for (const s of sections) groupTotals[s.group] += s.bytes;

  // Symbol start points per section (found by address), each with its object.
  const points = new Map<number, { addr: bigint; size: number; object: string }[]>();
  for (const sym of symbols) {
    const sec = alloc.find((x) => sym.value >= x.addr && sym.value < x.addr + BigInt(x.size));
    if (!sec) continue;
    const object = pickObject(objectsOf.get(sym.name), sym.fileSym);
    if (!object) continue; // linker-script symbol (__start_*, _etext): not a boundary
    const list = points.get(sec.index) ?? [];
    list.push({ addr: sym.value, size: sym.size, object });
    points.set(sec.index, list);
  }

  const perObject = new Map<string, Record<SectionGroup, number>>();
  const add = (object: string, group: SectionGroup, n: number) => {
    if (n <= 0) return;
    const b = perObject.get(object) ?? zero();
    b[group] += n;
    perObject.set(object, b);
  };
  for (const [i, sec] of alloc.entries()) {
    const group = sections[i]!.group;
    const end = sec.addr + BigInt(sec.size);
    const list = (points.get(sec.index) ?? []).sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : a.object.localeCompare(b.object)));
    let cursor = sec.addr;
    let owner = LINKER;
    let ownerEnd = sec.addr; // end of the owner's sized symbols
    const fill = (to: bigint) => {
      if (to <= cursor) return;
      const symbolBytes = ownerEnd > cursor ? (ownerEnd < to ? ownerEnd : to) - cursor : 0n;
      const gap = to - cursor - symbolBytes;
      add(owner, group, Number(symbolBytes));
      // Small gaps are the owner's alignment; big empty ones are the layout's (2 MiB) alignment.
      const bigGap = ownerEnd > sec.addr && ownerEnd > cursor - 1n ? gap >= BigInt(PAD_SIZED) : gap >= BigInt(PAD_UNSIZED);
      add(bigGap && owner !== LINKER ? PADDING : owner, group, Number(gap));
      cursor = to;
    };
    for (const p of list) {
      fill(p.addr);
      if (p.object !== owner) ownerEnd = p.addr;
      owner = p.object;
      const e = p.addr + BigInt(p.size);
      if (e > ownerEnd) ownerEnd = e;
    }
    fill(end);
  }

  const objects: ObjectSize[] = [...perObject.entries()]
    .map(([object, bytes]) => ({ object, subsystem: subsystemOf(object), bytes, total: sumGroups(bytes) }))
    .sort((a, b) => b.total - a.total || a.object.localeCompare(b.object));
  const bySub = new Map<string, Record<SectionGroup, number>>();
  for (const o of objects) {
    const b = bySub.get(o.subsystem) ?? zero();
    for (const g of sectionGroups) b[g] += o.bytes[g];
    bySub.set(o.subsystem, b);
  }
  const subsystems = [...bySub.entries()]
    .map(([subsystem, bytes]) => ({ object: subsystem, subsystem, bytes, total: sumGroups(bytes) }))
    .sort((a, b) => b.total - a.total || a.subsystem.localeCompare(b.subsystem));
  return { sections, groupTotals, objects, subsystems, total: sumGroups(groupTotals) };
}

export function sumGroups(b: Readonly<Record<SectionGroup, number>>): number {
  return sectionGroups.reduce((n, g) => n + b[g], 0);
}

/** Size analysis of the unstripped vmlinux in a kernel build tree. */
export async function analyzeKernelTree(treeDir: string, arch: TargetArch): Promise<KernelSize> {
  const [elf, objectsOf] = await Promise.all([readElfFile(join(treeDir, 'vmlinux')), symbolObjects(treeDir, arch)]);
  return analyzeKernelElf(elf, objectsOf);
}

/**
 * From the kernel cache folder alone (the build tree was pruned): sections of
 * the stripped vmlinux, symbols from symbols.txt, objects from objects.txt.
 * Same-named statics cannot be told apart here (no FILE symbols): the first
 * defining object gets them.
 */
export async function analyzeKernelCache(cacheDir: string): Promise<KernelSize | undefined> {
  const objects = join(cacheDir, 'objects.txt');
  const sizes = join(cacheDir, 'symbols.txt');
  if (!existsSync(objects) || !existsSync(sizes)) return undefined;
  const elf = await readElfFile(join(cacheDir, 'vmlinux'));
  return attribute(elf, parseNmSizes(readFileSync(sizes, 'utf8')), parseNmArchive(readFileSync(objects, 'utf8')));
}

/** Sections only (no symbols needed): for stock kernels and stripped files. */
export async function kernelSections(vmlinux: string): Promise<KernelSize> {
  const elf = await readElfFile(vmlinux);
  return analyzeKernelElf(elf, new Map());
}
