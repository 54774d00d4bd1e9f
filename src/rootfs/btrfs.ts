/**
 * fs=btrfs: a read-write root written by `mkfs.btrfs --rootdir` from a
 * staged tree. Compression is not stored in the image: btrfs compresses
 * what is written after mount, so fs_compression=zstd|lzo becomes a mount
 * option (rootflags=compress=..., src/image/boot-args.ts).
 *
 * Reproducibility, as measured with btrfs-progs 6.2: NOT bit-identical. The
 * file-system UUID is fixed (-U, from the seed); 6.2 has no option for the
 * rest (no --device-uuid, which came later; SOURCE_DATE_EPOCH is ignored), and
 * no post-pass can fix it, because the inode numbers order the tree's keys:
 *  - chunk-tree UUID (random): the header of every tree block (bytes 64-79)
 *    and every DEV_EXTENT item;
 *  - device UUID (random): the superblock's dev_item and sys_chunk_array
 *    stripes, the chunk tree's DEV_ITEM and every CHUNK_ITEM stripe;
 *  - FS-tree subvolume UUID (random): the FS_TREE ROOT_ITEM's uuid and the
 *    key of the UUID tree's UUID_KEY_SUBVOL item (its two 8-byte halves);
 *  - mkfs's clock (time(NULL)): the FS_TREE ROOT_ITEM's ctime and otime, and
 *    atime/ctime/mtime/otime of the root-tree directory (ROOT_TREE_DIR) and
 *    of the top directory (inode 256, not taken from the staged folder);
 *  - the host's stat of each staged file: its inode number is the host
 *    st_ino + 256 (so the keys, INODE_REF parents, DIR_ITEM/DIR_INDEX
 *    locations and extent backrefs, and the order of items in the leaves,
 *    follow the host's inode allocation), its ctime (the staging moment,
 *    which cannot be set) and its atime (updated by mkfs's own read);
 *  - the crc32c of every tree block and superblock, which cover the above.
 * File data and every other field are the same: test/e2e/rootfs-images.test.ts
 * builds twice a second apart and checks exactly that (about 3000 bytes in
 * 50 metadata blocks differ on its test tree).
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
