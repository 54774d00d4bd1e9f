/** Sizes of read-write disk images: what the user asked (fs_size_mb) or content plus headroom. */
import { UsageError } from '../errors.ts';
import type { StageResult } from './staging.ts';

export const MiB = 1024 * 1024;

/**
 * Automatic size in MiB: the content counted in 4 KiB blocks (every entry
 * given one block for its inode-table share, directory or tail), plus a
 * quarter for the application to write, plus a fixed allowance for the
 * file system's own metadata (`fixedMiB`), never below `minMiB`.
 */
export function autoSizeMiB(staged: StageResult, fixedMiB: number, minMiB: number): number {
  const dataBytes = staged.contentBytes + staged.entries * 4096;
  return Math.max(minMiB, Math.ceil((dataBytes * 1.25) / MiB) + fixedMiB);
}

/** Check a size the user gave (fs_size_mb / tailor disk create --size). */
export function checkSizeMiB(sizeMiB: number, fs: string, minMiB: number, option = 'fs_size_mb'): number {
  if (!Number.isInteger(sizeMiB) || sizeMiB <= 0) {
    throw new UsageError(`${option}=${sizeMiB} is not a positive whole number of MiB`, `give a size such as 64 (MiB), or 0 for automatic`);
  }
  if (sizeMiB < minMiB) {
    throw new UsageError(`${option}=${sizeMiB}: a ${fs} file system needs at least ${minMiB} MiB`, `use ${option}=${minMiB} or more`);
  }
  return sizeMiB;
}
