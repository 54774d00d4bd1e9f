/** What the ELF reader returns. Offsets and sizes are numbers (checked to fit); addresses are bigint (kernel addresses exceed 2^53). */

export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;

export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_DYNAMIC = 6;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;

export interface ElfHeader {
  /** e_type: ET_EXEC (2), ET_DYN (3: shared object or PIE), ... */
  readonly type: number;
  /** e_machine: EM_X86_64 (62), EM_AARCH64 (183), ... */
  readonly machine: number;
  readonly osabi: number;
  readonly entry: bigint;
  readonly flags: number;
}

export interface ProgramHeader {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: bigint;
  readonly paddr: bigint;
  readonly filesz: number;
  readonly memsz: bigint;
  readonly align: bigint;
}

export interface SectionHeader {
  readonly index: number;
  /** Name from the section-header string table ('' when the file has none). */
  readonly name: string;
  readonly type: number;
  readonly flags: bigint;
  readonly addr: bigint;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: bigint;
  readonly entsize: number;
}

export interface DynamicInfo {
  /** DT_NEEDED entries, in file order (the order the loader searches them). */
  readonly needed: readonly string[];
  readonly soname?: string;
  readonly rpath?: string;
  readonly runpath?: string;
  /** DT_FLAGS_1 (0 when absent). */
  readonly flags1: bigint;
  /** DF_1_PIE is set: a position-independent executable rather than a library. */
  readonly pie: boolean;
}

export interface ElfNote {
  /** Owner namespace, e.g. 'GNU', 'Xen', 'Linux'. */
  readonly name: string;
  readonly type: number;
  readonly desc: Buffer;
}

export type SymbolType = 'NOTYPE' | 'OBJECT' | 'FUNC' | 'SECTION' | 'FILE' | 'COMMON' | 'TLS' | 'IFUNC' | `type${number}`;
export type SymbolBind = 'LOCAL' | 'GLOBAL' | 'WEAK' | 'UNIQUE' | `bind${number}`;

export interface ElfSymbol {
  readonly name: string;
  readonly value: bigint;
  readonly size: number;
  readonly type: SymbolType;
  readonly bind: SymbolBind;
  /** st_shndx: section index, or SHN_UNDEF (0), SHN_ABS (0xfff1), SHN_COMMON (0xfff2). */
  readonly sectionIndex: number;
}

export interface ElfFile {
  /** What was read (a path or a label), used in error messages. */
  readonly what: string;
  /** The whole file; notes and symbols are read from it on demand. */
  readonly data: Buffer;
  readonly header: ElfHeader;
  readonly programHeaders: readonly ProgramHeader[];
  readonly sections: readonly SectionHeader[];
  /** PT_INTERP: the program interpreter (dynamic loader) path; absent for static binaries and libraries. */
  readonly interpreter?: string;
  /** From PT_DYNAMIC (or the SHT_DYNAMIC section); absent for static binaries. */
  readonly dynamic?: DynamicInfo;
}
