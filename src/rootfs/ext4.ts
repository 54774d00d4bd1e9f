/**
 * fs=ext4: a read-write root written by `mke2fs -d` from a staged tree.
 * Reproducible: UUID and directory hash seed from the seed, the tool's clock
 * fixed (E2FSPROGS_FAKE_TIME), inode change times pinned afterwards with
 * debugfs (mke2fs copies the staging folder's ctimes), and its settings from our own mke2fs.conf
 * rather than the host's /etc/mke2fs.conf. mke2fs sorts directory entries
 * itself, so the staging folder's readdir order does not matter.
 *
 * The journal stays on: a VM can be killed at any moment and a journal
 * makes the next boot clean (it costs 4 MiB of a small image, sparse on disk).
 * No blocks are reserved for root (-m 0): one application, no other users.
 */
import { rm, writeFile } from 'node:fs/promises';
import { TailorError, UsageError } from '../errors.ts';
import { exec } from '../util/exec.ts';
import { requireTool, writeStagedImage, type ImageFile } from './mkfs-run.ts';
import { seededUuid } from './seed.ts';
import { checkSizeMiB, MiB } from './sizing.ts';
import type { StageResult } from './staging.ts';
import type { ContentTree } from './types.ts';

/** Smallest ext4 image Tailor writes (journal + metadata fit, with room to spare). */
export const EXT4_MIN_MIB = 8;
/** Automatic sizes never go below this. */
const EXT4_AUTO_MIN_MIB = 16;

/** Inodes for a tree: its entries twice over (room for the application's files), at least 1024. */
export function ext4InodeCount(entries: number): number {
  return Math.max(1024, entries * 2);
}

/** mke2fs's journal size (libext2fs ext2fs_default_journal_size, 4 KiB blocks) for a file system of `bytes`. */
function journalBytes(bytes: number): number {
  const blocks = bytes / 4096;
  const steps: [number, number][] = [[32768, 1024], [262144, 4096], [524288, 8192], [4194304, 16384], [8388608, 32768], [16777216, 65536], [33554432, 131072]];
  return (steps.find(([limit]) => blocks < limit)?.[1] ?? 262144) * 4096;
}

/**
 * Automatic ext4 size in MiB: content counted in 4 KiB blocks (each entry
 * one extra block for its tail or directory), plus a quarter free for the
 * application, plus what ext4 itself takes: inode tables (256 bytes per
 * inode), the journal mke2fs picks for that size, 2% for bitmaps and group
 * descriptors and 4 MiB of slack; at least 16 MiB.
 */
export function ext4AutoSizeMiB(staged: Pick<StageResult, 'contentBytes' | 'entries'>): number {
  const want = (staged.contentBytes + staged.entries * 4096) * 1.25;
  const base = want + ext4InodeCount(staged.entries) * 256 + want * 0.02 + 4 * MiB;
  return Math.max(EXT4_AUTO_MIN_MIB, Math.ceil((base + journalBytes(base)) / MiB));
}

/** Our mke2fs settings, so the host's /etc/mke2fs.conf cannot change the image. */
const MKE2FS_CONF = `[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
	default_mntopts = acl,user_xattr
	enable_periodic_fsck = 0
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384
	reserved_ratio = 0
[fs_types]
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
	}
`;

export interface Ext4Options {
  readonly seed: string;
  /** fs_size_mb; 0 or undefined: automatic (ext4AutoSizeMiB). */
  readonly sizeMiB?: number;
  readonly mtime?: number;
}

/** mke2fs arguments shared by root images and empty data disks. */
export function mke2fsArgs(seed: string, image: string, sizeMiB: number, stageDir?: string, inodes?: number): string[] {
  const uuid = seededUuid(seed, 'fs');
  const hashSeed = seededUuid(seed, 'ext4-hash');
  return [
    '-q', '-F', '-t', 'ext4', '-b', '4096', '-m', '0',
    '-U', uuid,
    '-E', `hash_seed=${hashSeed},root_owner=0:0,lazy_itable_init=0`,
    ...(inodes ? ['-N', String(inodes)] : []),
    ...(stageDir ? ['-d', stageDir] : []),
    image,
    `${sizeMiB}M`,
  ];
}

/** Environment for a reproducible mke2fs: fixed clock (0 means "unset" to mke2fs, so at least 1) and our config file. */
export function mke2fsEnv(confPath: string, mtime: number): NodeJS.ProcessEnv {
  return { ...process.env, E2FSPROGS_FAKE_TIME: String(Math.max(1, mtime)), MKE2FS_CONFIG: confPath };
}

export async function writeMke2fsConf(path: string): Promise<void> {
  await writeFile(path, MKE2FS_CONF);
}

/** Numbers of the inodes in use that mke2fs -d filled from the staging folder: the root (2) and those from the first non-reserved one. */
export async function contentInodes(image: string): Promise<number[]> {
  const dump = (await exec('dumpe2fs', [image])).stdout;
  const perGroup = Number(/^Inodes per group:\s+(\d+)/m.exec(dump)?.[1]);
  const first = Number(/^First inode:\s+(\d+)/m.exec(dump)?.[1]);
  const groups = [...dump.matchAll(/^Group (\d+):[\s\S]*?^\s+Free inodes: ?(.*)$/gm)];
  if (!perGroup || !first || groups.length === 0) throw new TailorError(`cannot read the inode bitmap of ${image} from dumpe2fs`);
  const used: number[] = [];
  for (const [, g, freeList] of groups) {
    const start = Number(g) * perGroup + 1;
    const free = new Set<number>();
    for (const range of freeList!.split(',').map((x) => x.trim()).filter(Boolean)) {
      const [a, b = a] = range.split('-').map(Number);
      for (let i = a!; i <= b!; i++) free.add(i);
    }
    for (let i = start; i < start + perGroup; i++) if (!free.has(i) && (i === 2 || i >= first)) used.push(i);
  }
  return used;
}

/**
 * mke2fs -d copies each staged file's ctime, which is when we staged it
 * (no call can set a ctime). Overwrite it on every content inode so the
 * image does not depend on the clock.
 */
async function pinInodeChangeTimes(image: string, time: number): Promise<void> {
  const script = (await contentInodes(image)).map((ino) => `sif <${ino}> ctime @${time}\n`).join('');
  const r = await exec('debugfs', ['-w', '-f', '-', image], { input: script, env: { ...process.env, E2FSPROGS_FAKE_TIME: String(Math.max(1, time)) } });
  // debugfs exits 0 even when a command fails; anything on stderr but its banner is a failure.
  const errors = r.stderr.split('\n').filter((l) => l.trim() && !/^debugfs \d/.test(l));
  if (errors.length) throw new TailorError(`debugfs could not fix the inode times of ${image}: ${errors.slice(0, 3).join('; ')}`);
}

export async function writeExt4(tree: ContentTree, outPath: string, options: Ext4Options): Promise<ImageFile & { sizeMiB: number }> {
  await requireTool('mke2fs', 'e2fsprogs', 'fs=ext4 images are written with it');
  const mtime = options.mtime ?? 0;
  const asked = options.sizeMiB ? checkSizeMiB(options.sizeMiB, 'ext4', EXT4_MIN_MIB) : undefined;
  let sizeMiB = 0;
  const file = await writeStagedImage(tree, outPath, mtime, async (stageDir, tmpImage, staged) => {
    sizeMiB = asked ?? ext4AutoSizeMiB(staged);
    const conf = `${tmpImage}.mke2fs.conf`;
    await writeMke2fsConf(conf);
    try {
      const r = await exec('mke2fs', mke2fsArgs(options.seed, tmpImage, sizeMiB, stageDir, ext4InodeCount(staged.entries)), {
        env: mke2fsEnv(conf, mtime),
        allowFailure: true,
      });
      if (r.code !== 0) {
        const msg = (r.stderr || r.stdout).trim();
        if (asked && /allocate|No space|too many|Could not/i.test(msg)) {
          throw new UsageError(
            `fs_size_mb=${asked} is too small for the image's content (${Math.ceil(staged.contentBytes / 1048576)} MiB in ${staged.entries} entries)`,
            `use fs_size_mb=${ext4AutoSizeMiB(staged)} or more, or 0 for automatic`,
          );
        }
        throw new TailorError(`mke2fs failed writing the ext4 image (exit ${r.code}): ${msg}`);
      }
      await pinInodeChangeTimes(tmpImage, mtime);
    } finally {
      await rm(conf, { force: true });
    }
  });
  return { ...file, sizeMiB };
}
