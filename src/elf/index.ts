/** ELF64 little-endian reader: headers, interpreter, dynamic section, sections, notes, symbols. Pure TypeScript. */
import { readFile } from 'node:fs/promises';
import { TailorError } from '../errors.ts';
import { parseElf } from './parse.ts';
import type { ElfFile } from './types.ts';

export { ElfError } from './errors.ts';
export { parseElf } from './parse.ts';
export { readNotes, hasPvhNote } from './notes.ts';
export { readSymbols } from './symbols.ts';
export * from './types.ts';

/** Read and parse an ELF file from disk; a missing or unreadable file is a TailorError naming it. */
export async function readElfFile(path: string): Promise<ElfFile> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw new TailorError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  return parseElf(data, path);
}
