/**
 * fs=btrfs: a read-write root written by `mkfs.btrfs --rootdir` from a
 * staged tree. Compression is not stored in the image: btrfs compresses
 * what is written after mount, so fs_compression=zstd|lzo becomes a mount
 * option (rootflags=compress=..., src/image/boot-args.ts).
 *
 * Reproducibility, as measured with btrfs-progs 6.2: the file-system UUID is
 * fixed (-U, from the seed), but mkfs.btrfs also draws random chunk-tree and
 * device UUIDs and stamps the current time on the root trees, with no option
 * to fix them, so two images of the same tree differ (about 3000 bytes on the test
 * tree of test/e2e/rootfs-images.test.ts, which prints the count). The
 * files inside are the same; the image bytes are not.
 *
 * Device nodes: mkfs.btrfs 6.2 --rootdir stores them as 0:0 (measured:
 * /dev/console came out c 0 0 in the guest), so they are left out of btrfs
 * images and reported; the kernel mounts devtmpfs on /dev of a disk root.
 */
import { open, rm } from 'node:fs/promises';
import { TailorError, UsageError } from '../errors.ts';
import { exec } from '../util/exec.ts';
import { requireTool, writeStagedImage, type ImageFile } from './mkfs-run.ts';
import { seededUuid } from './seed.ts';
import { autoSizeMiB, checkSizeMiB } from './sizing.ts';
import { normalizeTree } from './tree.ts';
import type { ContentTree } from './types.ts';

/**
 * mkfs.btrfs 6.2 (single device, DUP metadata) silently grows a smaller
 * file to 109 MiB, so Tailor asks for at least this much.
 */
export const BTRFS_MIN_MIB = 112;
/** Metadata allowance for the automatic size: DUP metadata and system chunks. */
const BTRFS_FIXED_MIB = 96;
/** What the schema's `auto` means for btrfs. */
export const BTRFS_DEFAULT_COMPRESSION = 'zstd';
/** fs_compression values btrfs can apply as a mount option. */
export const btrfsCompressions = ['none', 'zstd', 'lzo'] as const;

export interface BtrfsOptions {
  readonly compression: string;
  readonly seed: string;
  /** fs_size_mb; 0 or undefined: automatic (content × 1.25 + 96 MiB, at least 128 MiB). */
  readonly sizeMiB?: number;
  readonly mtime?: number;
}

export function checkBtrfsCompression(c: string): string {
  const value = c === 'auto' ? BTRFS_DEFAULT_COMPRESSION : c;
  if (!(btrfsCompressions as readonly string[]).includes(value)) {
    throw new UsageError(`fs_compression=${c} is not available for fs=btrfs`, `use one of: ${btrfsCompressions.join(', ')}`);
  }
  return value;
}

/** A sparse file of exactly sizeMiB for mkfs to fill. */
export async function sparseFile(path: string, sizeMiB: number): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    await fh.truncate(sizeMiB * 1024 * 1024);
  } finally {
    await fh.close();
  }
}

export function mkfsBtrfsArgs(seed: string, image: string, stageDir?: string): string[] {
  return ['-q', '-f', '-U', seededUuid(seed, 'fs'), ...(stageDir ? ['--rootdir', stageDir] : []), image];
}

export async function writeBtrfs(
  tree: ContentTree,
  outPath: string,
  options: BtrfsOptions,
): Promise<ImageFile & { sizeMiB: number; compression: string; droppedDevices: string[] }> {
  const compression = checkBtrfsCompression(options.compression);
  // Normalised first, so the parents of a dropped device node stay.
  const all = await normalizeTree(tree);
  const droppedDevices = all.filter((n) => n.entry.kind === 'chardev').map((n) => `/${n.name}`);
  const kept: ContentTree = { entries: all.filter((n) => n.entry.kind !== 'chardev').map((n) => n.entry) };
  await requireTool('mkfs.btrfs', 'btrfs-progs', 'fs=btrfs images are written with it');
  const asked = options.sizeMiB ? checkSizeMiB(options.sizeMiB, 'btrfs', BTRFS_MIN_MIB) : undefined;
  const mtime = options.mtime ?? 0;
  let sizeMiB = 0;
  const file = await writeStagedImage(kept, outPath, mtime, async (stageDir, tmpImage, staged) => {
    sizeMiB = asked ?? autoSizeMiB(staged, BTRFS_FIXED_MIB, 128);
    await sparseFile(tmpImage, sizeMiB);
    const r = await exec('mkfs.btrfs', mkfsBtrfsArgs(options.seed, tmpImage, stageDir), { allowFailure: true });
    if (r.code !== 0) {
      await rm(tmpImage, { force: true });
      const msg = (r.stderr || r.stdout).trim();
      if (asked && /no space|ENOSPC|too small/i.test(msg)) {
        throw new UsageError(
          `fs_size_mb=${asked} is too small for the image's content (${Math.ceil(staged.contentBytes / 1048576)} MiB in ${staged.entries} entries)`,
          `use fs_size_mb=${autoSizeMiB(staged, BTRFS_FIXED_MIB, 128)} or more, or 0 for automatic`,
        );
      }
      throw new TailorError(`mkfs.btrfs failed writing the btrfs image (exit ${r.code}): ${msg}`);
    }
  });
  return { ...file, sizeMiB, compression, droppedDevices };
}
