/**
 * Stage 3 (kernel): the kernel an image boots, stock (Debian's package plus
 * the modules the image needs) or custom (built for this configuration).
 */
import type { BuildConfig } from '../config/types.ts';
import { TailorError, UsageError } from '../errors.ts';
import { targetArch } from '../config/arch.ts';
import { prepareStockKernel } from './stock.ts';
import { prepareCustomKernel } from './custom/index.ts';
import type { KernelArtifact } from './types.ts';
import type { SourceRequest } from './custom/series.ts';

export { moduleSourceRequests, type SourceRequest } from './custom/series.ts';

export type { KernelArtifact, KernelModuleFile } from './types.ts';
export { kernelFeatures, kernelFeatureNames, validateKernelNeeds, stockModulesFor, kconfigFor } from './features.ts';

/** A bool option's value, or `fallback` when the schema does not define it (yet). */
function flag(config: BuildConfig, name: string, fallback: boolean): boolean {
  const v = config.options[name];
  return typeof v === 'boolean' ? v : fallback;
}

/**
 * Driver switches that have a stock-kernel module, as kernel features.
 * (mmio/pci are the transport, passed separately.)
 */
const stockDriverFeatures: Readonly<Record<string, string>> = {
  conf_drivers_virtio_blk: 'virtio-blk',
  conf_drivers_virtio_net: 'virtio-net',
  conf_drivers_virtio_scsi: 'virtio-scsi',
  conf_drivers_virtio_fs: 'virtiofs',
  conf_drivers_virtio_rng: 'virtio-rng',
  conf_drivers_nvme: 'nvme',
  conf_drivers_pvpanic: 'pvpanic',
};

/**
 * With kernel=stock, a device driver the user switched on explicitly
 * (command line, tailor.yaml or a configuration profile) is loaded even when
 * no module needs it. Switches that only come from conf_drivers_profile are
 * not: the default profile turns on virtio-net and virtio-rng, and loading
 * their modules into every stock image would cost boot time for nothing.
 */
export function stockDriverNeeds(config: BuildConfig): string[] {
  return Object.entries(stockDriverFeatures)
    .filter(([option]) => config.options[option] === true && !['default', 'derived'].includes(config.sources[option]?.kind ?? 'default'))
    .map(([, feature]) => feature);
}

/**
 * TCP/IP is built into Debian's kernel but its NIC driver is a module: an
 * image that needs `net` must also load virtio_net, or it has no interface.
 */
export function stockNetNeeds(needs: readonly string[]): string[] {
  return needs.includes('net') && !needs.includes('virtio-net') ? ['virtio-net'] : [];
}

/**
 * The kernel for `config`. `needs` are kernel feature names (features.ts)
 * gathered from the image's modules and the filesystem; `needSources` says
 * which modules asked for each (for the custom kernel's reasons and errors).
 */
export async function prepareKernel(
  config: BuildConfig,
  needs: readonly string[],
  needSources?: ReadonlyMap<string, readonly string[]>,
  /** Kernel patches and Kbuild folders the image's modules ask for (custom kernels only). */
  sourceRequests: readonly SourceRequest[] = [],
): Promise<KernelArtifact> {
  const flavour = config.options.kernel ?? 'stock';
  switch (flavour) {
    case 'stock':
      if (sourceRequests.length) {
        const who = [...new Set(sourceRequests.map((r) => r.who))].join(', ');
        throw new UsageError(`${who} change${sourceRequests.length === 1 ? 's' : ''} the kernel's source (kernel_patches: or kernel_sources: in module.yaml), and kernel=stock is Debian's prebuilt kernel`, 'use kernel=custom');
      }
      return prepareStockKernel([...needs, ...stockNetNeeds(needs), ...stockDriverNeeds(config)], {
        mmio: flag(config, 'conf_drivers_mmio', true),
        pci: flag(config, 'conf_drivers_pci', true),
      }, targetArch(config.options.arch));
    case 'custom':
    case 'general':
      return prepareCustomKernel(config, needs, { ...(needSources ? { needSources } : {}), sourceRequests });
    default:
      throw new TailorError(`unknown kernel flavour "${String(flavour)}" (expected stock, custom or general)`);
  }
}
