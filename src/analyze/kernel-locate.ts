/**
 * Find the artifacts behind a build's kernel: the custom-kernel cache folder
 * (matched by the bzImage's sha256, which build.json records) and its build
 * tree (unstripped vmlinux with the symbol table, vmlinux.a, Makefiles).
 */
import { sha256File } from '../util/sha256.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { archOfMakeVars } from '../config/arch.ts';
import { TailorError } from '../errors.ts';
import type { BuildRecord } from '../image/types.ts';
import { buildTreeDir, kernelDir, listKernels, type KernelMeta } from '../kernel/custom/cache.ts';

export interface LocatedKernel {
  readonly meta: KernelMeta;
  /** Cache folder: boot image, stripped vmlinux, config, fragment.txt. */
  readonly cacheDir: string;
  /** Build tree with the unstripped vmlinux, or undefined when it was pruned. */
  readonly treeDir?: string;
}


/** The cached custom kernel whose boot image (bzImage, or arm64's Image) is byte-identical to the build's. */
export async function locateCustomKernel(record: BuildRecord): Promise<LocatedKernel> {
  if (record.kernel.flavour !== 'custom') {
    throw new TailorError(`build ${record.name} uses Debian's stock kernel, which has no symbol table to split by subsystem`, {
      hint: 'build with kernel=custom for a per-subsystem breakdown (sections are still shown)',
    });
  }
  for (const meta of await listKernels()) {
    if (meta.sizes.bzImage !== record.kernel.bzImage.bytes) continue;
    const dir = kernelDir(meta.key);
    const bootImage = join(dir, archOfMakeVars(meta.makeVars).kernel.imageName);
    if (!existsSync(bootImage) || (await sha256File(bootImage)) !== record.kernel.bzImage.sha256) continue;
    const tree = buildTreeDir(meta.fragmentHash);
    return { meta, cacheDir: dir, ...(existsSync(join(tree, 'vmlinux')) ? { treeDir: tree } : {}) };
  }
  throw new TailorError(`the custom kernel of build ${record.name} is no longer in the kernel cache`, {
    hint: 'rebuild the image (`tailor build ...`): the kernel cache keeps the symbol table size analysis needs',
  });
}
