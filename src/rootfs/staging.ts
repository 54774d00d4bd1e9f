/**
 * Materialises a ContentTree as a real directory, for the mkfs tools that read
 * one (mkfs.erofs, mke2fs -d, mkfs.btrfs --rootdir) and for `export=`.
 * Entries are created in sorted order with their modes, symlinks as symlinks,
 * device nodes where the host lets us (root), and every mtime set to one
 * fixed time, so what the tools copy does not depend on when we ran.
 */
import { constants } from 'node:fs';
import { chmod, copyFile, lutimes, mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TailorError } from '../errors.ts';
import { exec } from '../util/exec.ts';
import { normalizeTree } from './tree.ts';
import type { ContentTree } from './types.ts';

export interface StageOptions {
  /** mtime and atime of every entry, seconds since the epoch (default 0). */
  readonly mtime?: number;
}

export interface StageResult {
  /** Device nodes the host would not let us create (not root); their paths. */
  readonly skippedDevices: readonly string[];
  /** Total bytes of file contents staged. */
  readonly contentBytes: number;
  /** Number of entries staged, the root directory included. */
  readonly entries: number;
}

/** Stage `tree` into `dir`, which must not exist or be empty. */
export async function stageTree(tree: ContentTree, dir: string, options: StageOptions = {}): Promise<StageResult> {
  const entries = await normalizeTree(tree);
  const time = options.mtime ?? 0;
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) {
    throw new TailorError(`cannot stage the image tree into ${dir}: the folder is not empty`, { hint: 'remove it or choose another folder' });
  }
  const dirs: { path: string; mode: number }[] = [];
  const skippedDevices: string[] = [];
  let contentBytes = 0;
  for (const n of entries) {
    const dest = join(dir, ...n.parts);
    const e = n.entry;
    switch (e.kind) {
      case 'dir':
        // Created writable for us; the real mode comes last, once its children exist.
        if (n.name !== '') await mkdir(dest, { mode: 0o700 });
        dirs.push({ path: dest, mode: e.mode & 0o7777 });
        break;
      case 'file':
        await copyFile(e.source, dest, constants.COPYFILE_FICLONE);
        await chmod(dest, e.mode & 0o7777);
        await utimes(dest, time, time);
        contentBytes += n.size;
        break;
      case 'data':
        await writeFile(dest, e.data);
        await chmod(dest, e.mode & 0o7777);
        await utimes(dest, time, time);
        contentBytes += n.size;
        break;
      case 'symlink':
        await symlink(e.target, dest);
        await lutimes(dest, time, time);
        break;
      case 'chardev': {
        const r = await exec('mknod', ['-m', (e.mode & 0o7777).toString(8), dest, 'c', String(e.major), String(e.minor)], {
          allowFailure: true,
        });
        if (r.code !== 0) skippedDevices.push(`/${n.name}`);
        else await utimes(dest, time, time);
        break;
      }
    }
  }
  // Deepest first: setting a child's mode or time must not disturb its finished parent.
  for (const d of dirs.reverse()) {
    await chmod(d.path, d.mode);
    await utimes(d.path, time, time);
  }
  return { skippedDevices, contentBytes, entries: entries.length };
}
