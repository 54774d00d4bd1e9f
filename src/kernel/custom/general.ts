/**
 * kernel=general: one tailored kernel per driver profile (and kernel options)
 * with the base fragment plus the union of the built-in catalog's kernel
 * needs (modules/*\/module.yaml) and of the disk root filesystems, the way
 * Lupine Linux's general kernel covers the popular applications. Every image
 * whose own custom fragment it covers shares it; an image that needs more is
 * an error naming what is missing and kernel=custom.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildConfig } from '../../config/types.ts';
import { UsageError } from '../../errors.ts';
import { builtinModuleDir } from '../../modules/index.ts';
import { readModuleFile } from '../../modules/module-file.ts';
import { buildCustomKernel, type BuildOptions, type BuiltKernel } from './build.ts';
import { composeFragment, filesystemNeeds, type Fragment } from './fragment.ts';
import { kconfigLine, parseDotConfig, valueIn } from './kconfig.ts';

/** Root filesystems the general kernel carries (btrfs and the host shares stay kernel=custom choices). */
export const generalFilesystems = ['ramfs', 'rofs', 'ext4'] as const;

/** Each kernel need of the built-in modules, with the modules that ask for it. */
export function catalogNeeds(): Map<string, string[]> {
  const needs = new Map<string, string[]>();
  for (const name of readdirSync(builtinModuleDir).sort()) {
    const dir = join(builtinModuleDir, name);
    if (!existsSync(join(dir, 'module.yaml'))) continue;
    for (const need of readModuleFile(dir).kernel) needs.set(need, [...(needs.get(need) ?? []), `module ${name}`]);
  }
  return needs;
}

/**
 * The general kernel's needs with who asked for each: the catalog's, the
 * general filesystems' and the disk driver an image on such a disk asks for.
 */
export function generalNeeds(config: BuildConfig): Map<string, string[]> {
  const needs = catalogNeeds();
  // A need this driver profile contradicts (efi wants ACPI, microvm has none) stays out: images asking for it get kernel=custom's error.
  for (const need of [...needs.keys()]) {
    try {
      composeFragment(generalConfig(config), [need]);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      needs.delete(need);
    }
  }
  const add = (need: string, who: string) => needs.set(need, [...(needs.get(need) ?? []), who]);
  for (const fs of generalFilesystems) for (const need of filesystemNeeds[fs] ?? []) add(need, `fs=${fs}`);
  if (config.options.conf_drivers_virtio_blk === true) add('virtio-blk', 'a disk root (conf_drivers_virtio_blk=1)');
  return needs;
}

/** The configuration the general kernel is composed from: the image's, with the root filesystem set aside. */
function generalConfig(config: BuildConfig): BuildConfig {
  const reason = { kind: 'derived', reason: 'kernel=general carries every general root filesystem' } as const;
  return { ...config, options: { ...config.options, fs: 'ramfs', fs_compression: 'auto' }, sources: { ...config.sources, fs: reason, fs_compression: reason } };
}

export function generalFragment(config: BuildConfig): Fragment {
  const needs = generalNeeds(config);
  return composeFragment(generalConfig(config), [...needs.keys()].sort(), needs);
}

/** Lines of the image's own fragment the general kernel's .config does not have. */
export function uncovered(own: Fragment, generalConfigText: string): string[] {
  const final = parseDotConfig(generalConfigText);
  return own.lines
    .filter((l) => !l.soft && valueIn(final, l.symbol) !== l.value)
    .map((l) => `${kconfigLine(l.symbol, l.value)} (${l.reasons.join('; ')})`);
}

/** Build (or reuse) the general kernel and check it covers this image. */
export async function buildGeneralKernel(config: BuildConfig, needs: readonly string[], options: BuildOptions = {}): Promise<BuiltKernel> {
  const general = await buildCustomKernel(generalConfig(config), [...generalNeeds(config).keys()].sort(), { ...options, needSources: generalNeeds(config) });
  const missing = uncovered(composeFragment(config, needs, options.needSources), await readFile(join(general.dir, 'config'), 'utf8'));
  if (missing.length) {
    throw new UsageError(
      `kernel=general does not cover this image; it needs:\n  ${missing.join('\n  ')}`,
      'use kernel=custom for a kernel built for this image',
    );
  }
  return general;
}
