/** ELF64 little-endian reader: headers, interpreter, dynamic section, sections, notes, symbols. Pure TypeScript. */
import { open, readFile } from 'node:fs/promises';
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

/** True when the file starts with the ELF magic; a missing or unreadable file is not ELF. */
export async function isElfFile(path: string): Promise<boolean> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return false;
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return bytesRead === 4 && buf.toString('latin1') === '\x7fELF';
  } finally {
    await fh.close();
  }
}
