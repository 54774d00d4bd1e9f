/**
 * The shared frame of every mkfs-based writer: stage the tree into a folder
 * beside the output, let the tool write a temporary image, rename it into
 * place, measure it, and remove the staging folder whatever happened.
 */
import { sha256File } from '../util/sha256.ts';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MissingToolError } from '../errors.ts';
import { tempSibling } from '../util/atomic.ts';
import { exec, hasCommand } from '../util/exec.ts';
import { stageTree, type StageResult } from './staging.ts';
import type { ContentTree } from './types.ts';

export interface ImageFile {
  readonly bytes: number;
  readonly sha256: string;
}

export async function measureFile(path: string): Promise<ImageFile> {
  return { bytes: (await stat(path)).size, sha256: await sha256File(path) };
}

export async function requireTool(cmd: string, aptPackage: string, why: string): Promise<void> {
  if (!(await hasCommand(cmd))) throw new MissingToolError(cmd, aptPackage, why);
}

/** Remove a staging folder; as non-root, read-only directories (mode 555) must be made writable first. */
async function removeStaging(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch {
    await exec('chmod', ['-R', 'u+rwX', dir], { allowFailure: true });
    await rm(dir, { recursive: true, force: true });
  }
}

/** Write an image with `make(stageDir, tmpImage, staged)`; the result appears at outPath only when complete. */
export async function writeStagedImage(
  tree: ContentTree,
  outPath: string,
  mtime: number,
  make: (stageDir: string, tmpImage: string, staged: StageResult) => Promise<void>,
): Promise<ImageFile> {
  await mkdir(dirname(outPath), { recursive: true });
  const tmpImage = tempSibling(outPath);
  const stageDir = `${tmpImage}.stage`;
  try {
    const staged = await stageTree(tree, stageDir, { mtime });
    await make(stageDir, tmpImage, staged);
    await rename(tmpImage, outPath);
  } catch (err) {
    await rm(tmpImage, { force: true });
    throw err;
  } finally {
    await removeStaging(stageDir);
  }
  return measureFile(outPath);
}
