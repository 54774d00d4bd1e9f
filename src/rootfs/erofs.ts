/**
 * fs=rofs: a compressed read-only EROFS image written by mkfs.erofs from a
 * staged tree. Fixed timestamp (-T), UUID from the seed (-U), every file
 * owned by root, host extended attributes left out: the same tree and seed
 * give the same bytes (mkfs.erofs sorts directory entries itself).
 */
import { UsageError } from '../errors.ts';
import { exec } from '../util/exec.ts';
import { requireTool, writeStagedImage, type ImageFile } from './mkfs-run.ts';
import { seededUuid } from './seed.ts';
import type { ContentTree } from './types.ts';

/** fs_compression value → mkfs.erofs compressor name (none: no -z). */
const erofsCompressorNames: Record<string, string> = { lz4: 'lz4', lz4hc: 'lz4hc', xz: 'lzma' };

/** What the schema's `auto` means for rofs (src/config/schema.ts help text). */
export const EROFS_DEFAULT_COMPRESSION = 'lz4hc';

/** Compressors the installed mkfs.erofs was built with ("Available compressors are: lz4hc, lz4"). */
export async function erofsCompressors(): Promise<string[]> {
  const r = await exec('mkfs.erofs', ['--help'], { allowFailure: true });
  const m = /Available compressors are:\s*([^\n]*)/.exec(r.stdout + r.stderr);
  return m ? m[1]!.split(/[\s,]+/).filter(Boolean) : [];
}

/** The fs_compression values this host can write as EROFS, 'none' first. */
export async function erofsCompressionChoices(): Promise<string[]> {
  const available = new Set(await erofsCompressors());
  return ['none', ...Object.keys(erofsCompressorNames).filter((k) => available.has(erofsCompressorNames[k]!))];
}

export interface ErofsOptions {
  /** fs_compression: none, lz4, lz4hc (auto: lz4hc), xz when mkfs.erofs has LZMA. */
  readonly compression: string;
  readonly seed: string;
  readonly mtime?: number;
}

export async function writeErofs(tree: ContentTree, outPath: string, options: ErofsOptions): Promise<ImageFile & { compression: string }> {
  await requireTool('mkfs.erofs', 'erofs-utils', 'fs=rofs images are written with it');
  const compression = options.compression === 'auto' ? EROFS_DEFAULT_COMPRESSION : options.compression;
  const choices = await erofsCompressionChoices();
  if (!choices.includes(compression)) {
    throw new UsageError(
      `fs_compression=${compression} is not available for fs=rofs (EROFS)`,
      `use one of: ${choices.join(', ')} (lz4hc packs best, lz4 writes fastest; both decompress equally fast)`,
    );
  }
  const mtime = options.mtime ?? 0;
  const uuid = seededUuid(options.seed, 'fs');
  const file = await writeStagedImage(tree, outPath, mtime, async (stageDir, tmpImage) => {
    const args = [
      ...(compression === 'none' ? [] : [`-z${erofsCompressorNames[compression]}`]),
      `-T${mtime}`,
      `-U${uuid}`,
      '--all-root',
      '-x-1', // no extended attributes: the staging folder's host labels must not leak in
      '--quiet',
      tmpImage,
      stageDir,
    ];
    await exec('mkfs.erofs', args);
  });
  return { ...file, compression };
}
