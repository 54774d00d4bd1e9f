import { ByteView } from './bytes.ts';
import { readDynamic } from './dynamic.ts';
import type { ElfFile, ElfHeader, ProgramHeader, SectionHeader } from './types.ts';
import { PT_INTERP, SHT_NOBITS } from './types.ts';

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const PN_XNUM = 0xffff;
const SHN_XINDEX = 0xffff;

/**
 * Parse an ELF64 little-endian file held in memory: file header, program
 * headers (with PT_INTERP), section headers (with names) and the dynamic
 * section. Every offset and count is checked against the buffer, so a
 * malformed or truncated file throws ElfError and never reads out of range.
 */
export function parseElf(data: Buffer, what = 'ELF file'): ElfFile {
  const v = new ByteView(data, what);
  if (data.length < 16 || data[0] !== 0x7f || data[1] !== 0x45 || data[2] !== 0x4c || data[3] !== 0x46) {
    v.fail('not an ELF file (no \\x7fELF magic at the start)');
  }
  const cls = data[4];
  if (cls === 1) v.fail('is a 32-bit ELF file (ELFCLASS32); Tailor handles 64-bit binaries only');
  if (cls !== 2) v.fail(`has an invalid ELF class ${cls}`);
  const enc = data[5];
  if (enc === 2) v.fail('is a big-endian ELF file; Tailor handles little-endian (x86_64, aarch64) binaries only');
  if (enc !== 1) v.fail(`has an invalid ELF data encoding ${enc}`);
  v.check(0, EHDR_SIZE, 'ELF header');

  const header: ElfHeader = {
    type: v.u16(16, 'e_type'),
    machine: v.u16(18, 'e_machine'),
    osabi: data[7]!,
    entry: v.u64(24, 'e_entry'),
    flags: v.u32(48, 'e_flags'),
  };
  const phoff = v.u64n(32, 'e_phoff');
  const shoff = v.u64n(40, 'e_shoff');
  const phentsize = v.u16(54, 'e_phentsize');
  let phnum = v.u16(56, 'e_phnum');
  const shentsize = v.u16(58, 'e_shentsize');
  let shnum = v.u16(60, 'e_shnum');
  let shstrndx = v.u16(62, 'e_shstrndx');

  // Section 0 carries the real counts when they overflow 16 bits (extended numbering).
  if (shoff !== 0) {
    if (shentsize < SHDR_SIZE) v.fail(`e_shentsize ${shentsize} is smaller than an ELF64 section header (${SHDR_SIZE})`);
    v.check(shoff, SHDR_SIZE, 'section header 0');
    if (shnum === 0) shnum = v.u64n(shoff + 32, 'section 0 sh_size (extended section count)');
    if (shstrndx === SHN_XINDEX) shstrndx = v.u32(shoff + 40, 'section 0 sh_link (extended string table index)');
    if (phnum === PN_XNUM) phnum = v.u32(shoff + 44, 'section 0 sh_info (extended program header count)');
  } else {
    shnum = 0;
  }

  const programHeaders: ProgramHeader[] = [];
  if (phnum > 0) {
    if (phentsize < PHDR_SIZE) v.fail(`e_phentsize ${phentsize} is smaller than an ELF64 program header (${PHDR_SIZE})`);
    v.check(phoff, phnum * phentsize, `program header table (${phnum} entries)`);
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      programHeaders.push({
        type: v.u32(o, `program header ${i} p_type`),
        flags: v.u32(o + 4, `program header ${i} p_flags`),
        offset: v.u64n(o + 8, `program header ${i} p_offset`),
        vaddr: v.u64(o + 16, `program header ${i} p_vaddr`),
        paddr: v.u64(o + 24, `program header ${i} p_paddr`),
        filesz: v.u64n(o + 32, `program header ${i} p_filesz`),
        memsz: v.u64(o + 40, `program header ${i} p_memsz`),
        align: v.u64(o + 48, `program header ${i} p_align`),
      });
    }
  }

  const raw: Omit<SectionHeader, 'name'>[] = [];
  let nameOffsets: number[] = [];
  if (shnum > 0) {
    v.check(shoff, shnum * shentsize, `section header table (${shnum} entries)`);
    for (let i = 0; i < shnum; i++) {
      const o = shoff + i * shentsize;
      nameOffsets.push(v.u32(o, `section ${i} sh_name`));
      raw.push({
        index: i,
        type: v.u32(o + 4, `section ${i} sh_type`),
        flags: v.u64(o + 8, `section ${i} sh_flags`),
        addr: v.u64(o + 16, `section ${i} sh_addr`),
        offset: v.u64n(o + 24, `section ${i} sh_offset`),
        size: v.u64n(o + 32, `section ${i} sh_size`),
        link: v.u32(o + 40, `section ${i} sh_link`),
        info: v.u32(o + 44, `section ${i} sh_info`),
        addralign: v.u64(o + 48, `section ${i} sh_addralign`),
        entsize: v.u64n(o + 56, `section ${i} sh_entsize`),
      });
    }
  }
  let sections: SectionHeader[];
  if (raw.length > 0 && shstrndx !== 0) {
    const strtab = raw[shstrndx];
    if (!strtab) v.fail(`e_shstrndx ${shstrndx} names no section (the file has ${raw.length})`);
    if (strtab.type === SHT_NOBITS) v.fail(`section-name table (section ${shstrndx}) has no contents in the file`);
    v.check(strtab.offset, strtab.size, `section-name table (section ${shstrndx})`);
    const end = strtab.offset + strtab.size;
    sections = raw.map((s, i) => ({ ...s, name: v.cstr(strtab.offset + nameOffsets[i]!, end, `section ${i} name`) }));
  } else {
    sections = raw.map((s) => ({ ...s, name: '' }));
  }
  nameOffsets = [];

  let interpreter: string | undefined;
  const interp = programHeaders.find((p) => p.type === PT_INTERP);
  if (interp) {
    v.check(interp.offset, interp.filesz, 'PT_INTERP segment');
    interpreter = v.cstr(interp.offset, interp.offset + interp.filesz, 'PT_INTERP interpreter path');
  }

  const dynamic = readDynamic(v, programHeaders, sections);
  return { what, data, header, programHeaders, sections, interpreter, dynamic };
}
