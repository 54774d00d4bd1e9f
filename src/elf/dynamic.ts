import type { ByteView } from './bytes.ts';
import type { DynamicInfo, ProgramHeader, SectionHeader } from './types.ts';
import { PT_DYNAMIC, PT_LOAD, SHT_DYNAMIC, SHT_NOBITS } from './types.ts';

const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_STRSZ = 10n;
const DT_SONAME = 14n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;
const DT_FLAGS_1 = 0x6ffffffbn;
const DF_1_PIE = 0x08000000n;
const DYN_SIZE = 16;

/** Map a virtual address to a file offset through the PT_LOAD segments (what the loader would have mapped). */
function vaddrToOffset(v: ByteView, phdrs: readonly ProgramHeader[], addr: bigint): number | undefined {
  for (const p of phdrs) {
    if (p.type !== PT_LOAD) continue;
    if (addr >= p.vaddr && addr < p.vaddr + BigInt(p.filesz)) {
      const off = p.offset + Number(addr - p.vaddr);
      v.check(off, 0, 'DT_STRTAB address');
      return off;
    }
  }
  return undefined;
}

/**
 * Read the dynamic section (from PT_DYNAMIC, else the SHT_DYNAMIC section):
 * NEEDED, SONAME, RPATH, RUNPATH with their strings from DT_STRTAB, and
 * DT_FLAGS_1. Returns undefined for a file without one (static binaries).
 */
export function readDynamic(
  v: ByteView,
  phdrs: readonly ProgramHeader[],
  sections: readonly SectionHeader[],
): DynamicInfo | undefined {
  let start: number;
  let size: number;
  const seg = phdrs.find((p) => p.type === PT_DYNAMIC);
  const sec = sections.find((s) => s.type === SHT_DYNAMIC);
  if (seg) {
    start = seg.offset;
    size = seg.filesz;
  } else if (sec && sec.type !== SHT_NOBITS) {
    start = sec.offset;
    size = sec.size;
  } else {
    return undefined;
  }
  v.check(start, size, 'dynamic section');

  const entries: [bigint, bigint][] = [];
  for (let o = start; o + DYN_SIZE <= start + size; o += DYN_SIZE) {
    const tag = v.u64(o, 'dynamic entry tag');
    if (tag === DT_NULL) break;
    entries.push([tag, v.u64(o + 8, 'dynamic entry value')]);
  }
  const value = (tag: bigint) => entries.find(([t]) => t === tag)?.[1];

  // Strings live in DT_STRTAB (a virtual address); fall back to the section the dynamic section links to.
  let strStart: number | undefined;
  let strEnd: number | undefined;
  const strtabAddr = value(DT_STRTAB);
  if (strtabAddr !== undefined) strStart = vaddrToOffset(v, phdrs, strtabAddr);
  if (strStart === undefined && sec && sections[sec.link] && sections[sec.link]!.type !== SHT_NOBITS) {
    strStart = sections[sec.link]!.offset;
    strEnd = strStart + sections[sec.link]!.size;
  }
  if (strStart !== undefined && strEnd === undefined) {
    const strsz = value(DT_STRSZ);
    strEnd = strsz !== undefined && strsz <= BigInt(v.length) ? strStart + Number(strsz) : v.length;
  }
  if (strStart !== undefined) v.check(strStart, strEnd! - strStart, 'dynamic string table');

  const str = (val: bigint, field: string): string => {
    if (strStart === undefined) v.fail(`${field} is present but the dynamic string table (DT_STRTAB) cannot be located`);
    if (val >= BigInt(strEnd! - strStart)) v.fail(`${field} string offset ${val} lies outside the dynamic string table`);
    return v.cstr(strStart + Number(val), strEnd!, field);
  };

  const needed: string[] = [];
  let soname: string | undefined;
  let rpath: string | undefined;
  let runpath: string | undefined;
  let flags1 = 0n;
  for (const [tag, val] of entries) {
    if (tag === DT_NEEDED) needed.push(str(val, 'DT_NEEDED'));
    else if (tag === DT_SONAME) soname = str(val, 'DT_SONAME');
    else if (tag === DT_RPATH) rpath = str(val, 'DT_RPATH');
    else if (tag === DT_RUNPATH) runpath = str(val, 'DT_RUNPATH');
    else if (tag === DT_FLAGS_1) flags1 = val;
  }
  return { needed, soname, rpath, runpath, flags1, pie: (flags1 & DF_1_PIE) !== 0n };
}
