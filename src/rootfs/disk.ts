/**
 * Empty data disks for `tailor disk create` (and run --second-disk-image):
 * a formatted ext4 or btrfs file system, or a raw sparse file. Written
 * beside the final name and renamed, never over an existing file unless asked.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { TailorError, UsageError } from '../errors.ts';
import { tempSibling } from '../util/atomic.ts';
import { exec } from '../util/exec.ts';
import { BTRFS_MIN_MIB, mkfsBtrfsArgs, sparseFile } from './btrfs.ts';
import { EXT4_MIN_MIB, mke2fsArgs, mke2fsEnv, writeMke2fsConf } from './ext4.ts';
import { requireTool } from './mkfs-run.ts';
import { checkSizeMiB, MiB } from './sizing.ts';

export type DiskFs = 'ext4' | 'btrfs' | 'raw';
export const diskFsChoices: readonly DiskFs[] = ['ext4', 'btrfs', 'raw'];

export interface DiskOptions {
  /** Seed for fixed UUIDs (same seed, same bytes for ext4); without one the UUID is random, as two data disks must differ. */
  readonly seed?: string;
  /** Replace an existing file. */
  readonly force?: boolean;
}

export interface DiskResult {
  readonly path: string;
  readonly fs: DiskFs;
  readonly sizeMiB: number;
  /** Apparent size; the file is sparse, so it takes less on the host. */
  readonly bytes: number;
}

const minMiB: Record<DiskFs, number> = { ext4: EXT4_MIN_MIB, btrfs: BTRFS_MIN_MIB, raw: 1 };

export async function createEmptyDisk(path: string, fs: DiskFs | string, sizeMiB: number, options: DiskOptions = {}): Promise<DiskResult> {
  if (!(diskFsChoices as readonly string[]).includes(fs)) {
    throw new UsageError(`--fs ${fs} is not a disk format Tailor can create`, `use one of: ${diskFsChoices.join(', ')}`);
  }
  const kind = fs as DiskFs;
  checkSizeMiB(sizeMiB, kind, minMiB[kind], '--size');
  if (!options.force && existsSync(path)) {
    throw new UsageError(`${path} already exists`, 'remove it, choose another name, or pass --force to replace it');
  }
  if (kind === 'ext4') await requireTool('mke2fs', 'e2fsprogs', 'ext4 disks are written with it');
  if (kind === 'btrfs') await requireTool('mkfs.btrfs', 'btrfs-progs', 'btrfs disks are written with it');
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempSibling(path);
  const seed = options.seed ?? `${Date.now()}:${Math.random()}:${path}`;
  try {
    if (kind === 'raw') {
      await sparseFile(tmp, sizeMiB);
    } else if (kind === 'ext4') {
      const conf = `${tmp}.mke2fs.conf`;
      await writeMke2fsConf(conf);
      try {
        await exec('mke2fs', mke2fsArgs(seed, tmp, sizeMiB), { env: mke2fsEnv(conf, 0) });
      } finally {
        await rm(conf, { force: true });
      }
    } else {
      await sparseFile(tmp, sizeMiB);
      await exec('mkfs.btrfs', mkfsBtrfsArgs(seed, tmp));
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof TailorError) throw err;
    throw new TailorError(`cannot create the disk ${path}: ${(err as Error).message}`, { cause: err });
  }
  return { path, fs: kind, sizeMiB, bytes: sizeMiB * MiB };
}


/** Parse a size such as 64M, 1G, 512K, 1.5G or 100 (MiB) into whole MiB. */
export function parseSizeMiB(text: string, option = '--size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text);
  if (!m) {
    throw new UsageError(`${option} ${JSON.stringify(text)} is not a size`, 'write a number with an optional unit K, M, G or T (powers of 1024), e.g. 64M or 2G');
  }
  const factor: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024, '': 1 };
  const mib = Number(m[1]) * factor[m[2]!.toUpperCase()]!;
  if (!Number.isInteger(mib) || mib <= 0) {
    throw new UsageError(`${option} ${text} is not a whole, positive number of MiB`, 'disk sizes go in whole MiB, e.g. 64M, 1024K or 1G');
  }
  return mib;
}
