import { ByteView } from './bytes.ts';
import type { ElfFile, ElfSymbol, SymbolBind, SymbolType } from './types.ts';
import { SHT_DYNSYM, SHT_NOBITS, SHT_SYMTAB } from './types.ts';

const SYM_SIZE = 24;
const TYPES: readonly SymbolType[] = ['NOTYPE', 'OBJECT', 'FUNC', 'SECTION', 'FILE', 'COMMON', 'TLS'];
const BINDS: readonly SymbolBind[] = ['LOCAL', 'GLOBAL', 'WEAK'];

function symType(t: number): SymbolType {
  if (t === 10) return 'IFUNC'; // STT_GNU_IFUNC
  return TYPES[t] ?? `type${t}`;
}

function symBind(b: number): SymbolBind {
  if (b === 10) return 'UNIQUE'; // STB_GNU_UNIQUE
  return BINDS[b] ?? `bind${b}`;
}

/**
 * The symbols of the static (.symtab, SHT_SYMTAB) or dynamic (.dynsym,
 * SHT_DYNSYM) symbol table, including the null symbol at index 0 (as readelf
 * counts them). Returns [] when the file has no such table (e.g. stripped).
 */
export function readSymbols(elf: ElfFile, table: 'symtab' | 'dynsym'): ElfSymbol[] {
  const v = new ByteView(elf.data, elf.what);
  const wanted = table === 'symtab' ? SHT_SYMTAB : SHT_DYNSYM;
  const sec = elf.sections.find((s) => s.type === wanted);
  if (!sec || sec.type === SHT_NOBITS) return [];
  const label = sec.name || `.${table}`;
  if (sec.entsize !== SYM_SIZE) v.fail(`${label} entry size is ${sec.entsize}, expected ${SYM_SIZE} for ELF64`);
  v.check(sec.offset, sec.size, label);
  const strsec = elf.sections[sec.link];
  if (!strsec || strsec.type === SHT_NOBITS) v.fail(`${label} links to section ${sec.link}, which is not a string table in the file`);
  v.check(strsec.offset, strsec.size, `${label} string table`);
  const strEnd = strsec.offset + strsec.size;

  const count = Math.floor(sec.size / SYM_SIZE);
  const out: ElfSymbol[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const o = sec.offset + i * SYM_SIZE;
    const nameOff = v.u32(o, `${label} symbol ${i} st_name`);
    const info = v.u8(o + 4, `${label} symbol ${i} st_info`);
    out[i] = {
      name: nameOff === 0 ? '' : v.cstr(strsec.offset + nameOff, strEnd, `${label} symbol ${i} name`),
      type: symType(info & 0xf),
      bind: symBind(info >> 4),
      sectionIndex: v.u16(o + 6, `${label} symbol ${i} st_shndx`),
      value: v.u64(o + 8, `${label} symbol ${i} st_value`),
      size: v.u64n(o + 16, `${label} symbol ${i} st_size`),
    };
  }
  return out;
}
