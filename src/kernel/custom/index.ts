/**
 * The custom kernel flavour: a kernel built for this configuration from
 * Debian's linux-source (tinyconfig + the composed fragment), cached by hash.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildConfig } from '../../config/types.ts';
import { initrdCompressionsOf } from '../stock.ts';
import { targetArch } from '../../config/arch.ts';
import type { KernelArtifact } from '../types.ts';
import { buildCustomKernel, type BuildOptions } from './build.ts';
import { buildGeneralKernel } from './general.ts';
import { parseDotConfig } from './kconfig.ts';

export { buildCustomKernel, compilerVersion, type BuiltKernel, type BuildOptions } from './build.ts';
export { buildGeneralKernel, generalFragment } from './general.ts';
export { composeFragment, describeFragment, fragmentText, filesystemNeeds, type Fragment, type FragmentLine } from './fragment.ts';
export { cacheUsage, listKernels, pruneKernels, kernelDir, type KernelMeta } from './cache.ts';

/** Stage 3, custom and general flavours: build (or reuse) the kernel and describe it. Everything is built in: no modules. */
export async function prepareCustomKernel(config: BuildConfig, needs: readonly string[], options: BuildOptions = {}): Promise<KernelArtifact> {
  const built = config.options.kernel === 'general' ? await buildGeneralKernel(config, needs, options) : await buildCustomKernel(config, needs, options);
  const dotConfig = parseDotConfig(await readFile(join(built.dir, 'config'), 'utf8'));
  const imageName = targetArch(config.options.arch).kernel.imageName;
  return {
    flavour: 'custom',
    release: built.meta.release,
    packageVersion: built.meta.sourceVersion,
    bzImage: join(built.dir, imageName),
    imageName,
    ...(built.meta.hasPvh ? { vmlinux: join(built.dir, 'vmlinux') } : {}),
    config: join(built.dir, 'config'),
    systemMap: join(built.dir, 'System.map'),
    modules: [],
    initrdCompressions: initrdCompressionsOf(dotConfig),
    hasVirtioMmio: dotConfig.get('VIRTIO_MMIO') === 'y',
    hasVirtioBlk: dotConfig.get('VIRTIO_BLK') === 'y',
    hasPci: dotConfig.get('PCI') === 'y',
    hasAcpi: dotConfig.get('ACPI') === 'y',
  };
}
