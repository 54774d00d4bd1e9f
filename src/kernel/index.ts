/**
 * Stage 3 (kernel): the kernel an image boots, stock (Debian's package plus
 * the modules the image needs) or custom (built for this configuration).
 */
import type { BuildConfig } from '../config/types.ts';
import { TailorError } from '../errors.ts';
import { prepareStockKernel } from './stock.ts';
import { prepareCustomKernel } from './custom/index.ts';
import type { KernelArtifact } from './types.ts';

export type { KernelArtifact, KernelModuleFile } from './types.ts';
export { kernelFeatures, kernelFeatureNames, validateKernelNeeds, stockModulesFor, kconfigFor } from './features.ts';

/** A bool option's value, or `fallback` when the schema does not define it (yet). */
function flag(config: BuildConfig, name: string, fallback: boolean): boolean {
  const v = config.options[name];
  return typeof v === 'boolean' ? v : fallback;
}

/**
 * The kernel for `config`. `needs` are kernel feature names (features.ts)
 * gathered from the image's modules and the filesystem.
 */
export async function prepareKernel(config: BuildConfig, needs: readonly string[]): Promise<KernelArtifact> {
  const flavour = config.options.kernel ?? 'stock';
  switch (flavour) {
    case 'stock':
      return prepareStockKernel(needs, {
        mmio: flag(config, 'conf_drivers_mmio', true),
        pci: flag(config, 'conf_drivers_pci', true),
      });
    case 'custom':
      return prepareCustomKernel(config, needs);
    default:
      throw new TailorError(`unknown kernel flavour "${String(flavour)}" (expected stock or custom)`);
  }
}
