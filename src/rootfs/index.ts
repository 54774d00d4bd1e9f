/**
 * Stage 4 entry: turn a ContentTree into the root file-system image the
 * build asked for (fs=ramfs|rofs|ext4|btrfs). Every writer puts its output
 * beside outPath and renames it into place, and gives the same bytes for the
 * same tree and seed (btrfs excepted: see btrfs.ts).
 */
import { TailorError, UsageError } from '../errors.ts';
import { writeBtrfs } from './btrfs.ts';
import { checkRamfsCompression } from './compress.ts';
import { writeCpio } from './cpio.ts';
import { writeErofs } from './erofs.ts';
import { writeExt4 } from './ext4.ts';
import type { ContentTree } from './types.ts';

export type RootfsKind = 'ramfs' | 'rofs' | 'ext4' | 'btrfs';

export interface RootfsOptions {
  /** fs= option; 'zfs' and 'virtiofs' are answered with an explanation. */
  readonly fs: RootfsKind | string;
  /** fs_compression= after 'auto' may or may not be resolved ('auto' is resolved here too). */
  readonly compression: string;
  /** fs_size_mb= for ext4/btrfs; 0 or undefined: automatic. */
  readonly sizeMiB?: number;
  /** Source of fixed UUIDs and hash seeds: the build config hash. */
  readonly seed: string;
  /** mtime of every file, seconds since the epoch (default 0). */
  readonly mtime?: number;
}

export interface RootfsResult {
  readonly bytes: number;
  readonly sha256: string;
  readonly fs: RootfsKind;
  readonly readOnly: boolean;
  /** Compression actually used ('none' for ext4; for btrfs the mount option to use). */
  readonly compression: string;
  /** ramfs: the cpio size before compression. */
  readonly uncompressedBytes?: number;
  /** ext4/btrfs: the disk size chosen. */
  readonly sizeMiB?: number;
  /** Device nodes left out because the format cannot hold them (btrfs); devtmpfs provides them at boot. */
  readonly droppedDevices?: readonly string[];
}

export async function writeRootfs(tree: ContentTree, outPath: string, options: RootfsOptions): Promise<RootfsResult> {
  const { fs, seed, mtime } = options;
  switch (fs) {
    case 'ramfs': {
      const compression = checkRamfsCompression(options.compression === 'auto' ? 'gzip' : options.compression);
      const r = await writeCpio(tree, outPath, compression, { mtime });
      return { ...r, fs, readOnly: false, compression };
    }
    case 'rofs': {
      const r = await writeErofs(tree, outPath, { compression: options.compression, seed, mtime });
      return { bytes: r.bytes, sha256: r.sha256, fs, readOnly: true, compression: r.compression };
    }
    case 'ext4': {
      if (!['none', 'auto'].includes(options.compression)) {
        throw new UsageError(`fs_compression=${options.compression}: ext4 does not compress`, 'use fs=btrfs for a compressed read-write root, or fs_compression=none');
      }
      const r = await writeExt4(tree, outPath, { seed, sizeMiB: options.sizeMiB, mtime });
      return { bytes: r.bytes, sha256: r.sha256, fs, readOnly: false, compression: 'none', sizeMiB: r.sizeMiB };
    }
    case 'btrfs': {
      const r = await writeBtrfs(tree, outPath, { compression: options.compression, seed, sizeMiB: options.sizeMiB, mtime });
      return { bytes: r.bytes, sha256: r.sha256, fs, readOnly: false, compression: r.compression, sizeMiB: r.sizeMiB, droppedDevices: r.droppedDevices };
    }
    case 'zfs':
      throw new UsageError(
        'fs=zfs: Linux has no ZFS in its source tree, so Tailor cannot build it into a kernel',
        'use fs=btrfs (compression, snapshots, checksums: the same trade-offs) or fs=ext4 (simple and fast)',
      );
    case 'virtiofs':
      throw new UsageError(
        'fs=virtiofs is a host folder shared into the guest at run time: there is no root image to write',
        'share the folder with tailor run --share HOSTDIR:TAG, or pick fs=ramfs, rofs, ext4 or btrfs for an image',
      );
    default:
      throw new TailorError(`unknown root file system "${fs}"`, { exitCode: 2, hint: 'use fs=ramfs, rofs, ext4 or btrfs' });
  }
}

export { writeCpio } from './cpio.ts';
export { stageTree } from './staging.ts';
export { createEmptyDisk } from './disk.ts';
