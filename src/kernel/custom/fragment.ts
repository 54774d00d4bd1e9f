/**
 * The Kconfig fragment of a custom kernel: an ordered list of symbol
 * assignments, each with the reason it is there (base fragment, drivers
 * profile or switch, filesystem, module need, option). Two sources asking
 * different values for one symbol is an error naming both.
 */
import type { BuildConfig } from '../../config/types.ts';
import { describeSource, driverSwitches, optionsByName } from '../../config/index.ts';
import { UsageError } from '../../errors.ts';
import { kernelFeatures, validateKernelNeeds } from '../features.ts';
import { archFragments, baseFragmentFor } from './base.ts';
import { targetArch } from '../../config/arch.ts';
import { driversForNeeds } from './device-drivers.ts';
import { kconfigLine } from './kconfig.ts';
import { composeSeries, describeSeries, type SourceLayer, type SourceRequest } from './series.ts';

export interface FragmentLine {
  readonly symbol: string;
  readonly value: string;
  /** Why it is there; several when more than one source asked for it. */
  readonly reasons: readonly string[];
  /** A base-fragment preference: not verified (a driver may `select` it back on). */
  readonly soft?: boolean;
}

export interface Fragment {
  readonly lines: readonly FragmentLine[];
  /** Make variables for the build (KCFLAGS=-O3, LLVM=1), with reasons. */
  readonly makeVars: Readonly<Record<string, string>>;
  readonly notes: readonly string[];
  /** Patches and Kbuild folders applied to the source, in order (series.ts); absent or empty: Debian's source as is. */
  readonly series?: readonly SourceLayer[];
}

/**
 * Kernel features the root filesystem needs. The disk driver (virtio-blk,
 * NVMe, AHCI, Xen or Hyper-V storage) comes from the drivers profile.
 */
export const filesystemNeeds: Readonly<Record<string, readonly string[]>> = {
  ramfs: [],
  rofs: ['block', 'erofs'],
  ext4: ['block', 'ext4'],
  btrfs: ['block', 'btrfs'],
  virtiofs: ['virtiofs', '9p'],
};

/** initramfs decompressors per fs_compression of a ramfs root (auto is gzip, as the rootfs stage does). */
const initrdCompression: Readonly<Record<string, Record<string, string>>> = {
  auto: { RD_GZIP: 'y' },
  gzip: { RD_GZIP: 'y' },
  lz4: { RD_LZ4: 'y' },
  lz4hc: { RD_LZ4: 'y' },
  zstd: { RD_ZSTD: 'y' },
  xz: { RD_XZ: 'y' },
  lzo: { RD_LZO: 'y' },
  none: {},
};

class FragmentBuilder {
  private readonly bySymbol = new Map<string, { value: string; reasons: string[]; soft: boolean }>();

  /** `soft`: a base default that any explicit request may override (e.g. IPV6=n until a module needs ipv6). */
  add(symbol: string, value: string, reason: string, soft = false): void {
    const seen = this.bySymbol.get(symbol);
    if (!seen) this.bySymbol.set(symbol, { value, reasons: [reason], soft });
    else if (seen.soft && !soft && seen.value !== value) {
      this.bySymbol.set(symbol, { value, reasons: [`${reason} (overrides the base fragment's ${kconfigLine(symbol, seen.value)})`], soft: false });
    } else if (seen.value === value) {
      if (!seen.reasons.includes(reason)) seen.reasons.push(reason);
      if (!soft) seen.soft = false; // an explicit request makes it verified
    } else {
      throw new UsageError(
        `conflicting kernel settings: ${kconfigLine(symbol, seen.value)} (${seen.reasons.join('; ')}) but ${kconfigLine(symbol, value)} (${reason})`,
        'change one of the two options so they agree (see `tailor kernel config` for every line and its reason)',
      );
    }
  }

  addAll(assignments: Readonly<Record<string, string>>, reason: string): void {
    for (const [symbol, value] of Object.entries(assignments)) this.add(symbol, value, reason);
  }

  /** The line for `symbol` so far, if any. */
  get(symbol: string): { readonly value: string; readonly reasons: readonly string[]; readonly soft: boolean } | undefined {
    return this.bySymbol.get(symbol);
  }

  lines(): FragmentLine[] {
    return [...this.bySymbol.entries()].map(([symbol, { value, reasons, soft }]) => ({ symbol, value, reasons, ...(soft ? { soft } : {}) }));
  }
}

function optionReason(config: BuildConfig, name: string): string {
  const value = config.options[name];
  const shown = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  const source = config.sources[name];
  return `${name}=${shown}${source ? ` (${describeSource(source)})` : ''}`;
}

/** Apply an option's schema `kernel:` mapping (whenOn/whenOff/perValue). */
function addOptionMapping(b: FragmentBuilder, config: BuildConfig, name: string): void {
  const spec = optionsByName.get(name);
  const mapping = spec?.kernel;
  if (!mapping) return;
  const value = config.options[name];
  const reason = optionReason(config, name);
  if (typeof value === 'boolean') {
    const set = value ? mapping.whenOn : mapping.whenOff;
    if (set) b.addAll(set, reason);
  } else if (mapping.perValue) {
    const set = mapping.perValue[String(value)];
    if (set) b.addAll(set, reason);
  }
}

/**
 * Compose the fragment for `config` and the image's kernel `needs` (feature
 * names from src/kernel/features.ts: the modules' needs; the filesystem's are
 * added here from config.options.fs).
 */
export function composeFragment(
  config: BuildConfig,
  needs: readonly string[],
  /** Who asked for each need (e.g. "module httpserver"), for the reasons; optional. */
  needSources: ReadonlyMap<string, readonly string[]> = new Map(),
  /** Patches and Kbuild folders the image's modules ask for. */
  sourceRequests: readonly SourceRequest[] = [],
): Fragment {
  const b = new FragmentBuilder();
  const o = config.options;
  const makeVars: Record<string, string> = {};
  const notes: string[] = [];

  // (a) base, with the target architecture's console and boot entry
  const arch = targetArch(o.arch);
  for (const l of baseFragmentFor(arch.name)) b.add(l.symbol, l.value, `base: ${l.why}`, l.soft === true);
  if (arch.kernel.crossCompile) {
    // In the make variables, so they are part of the fragment hash and the kernel's cache key.
    makeVars.ARCH = arch.kernel.srcArch;
    makeVars.CROSS_COMPILE = arch.kernel.crossCompile;
  }

  // (b) drivers: every switch, as the config stage resolved it from the profile and implications
  for (const sw of driverSwitches) addOptionMapping(b, config, `conf_drivers_${sw}`);
  // A virtio device driver without a transport is dropped by Kconfig (VIRTIO is selected by the transports).
  const virtioDevices = ['virtio_blk', 'virtio_net', 'virtio_scsi', 'virtio_rng', 'virtio_fs'].filter((d) => o[`conf_drivers_${d}`] === true);
  if (virtioDevices.length && o.conf_drivers_mmio !== true && o.conf_drivers_pci !== true) {
    throw new UsageError(
      `${virtioDevices.map((d) => `conf_drivers_${d}=1`).join(', ')} needs a virtio transport, and conf_drivers_mmio and conf_drivers_pci are both 0`,
      'add conf_drivers_mmio=1 (microvm, Firecracker) or conf_drivers_pci=1 (pc/q35)',
    );
  }
  // virtio over PCI needs both switches: the one rule a single switch cannot express.
  if (o.conf_drivers_virtio === true && o.conf_drivers_pci === true) {
    b.add('VIRTIO_PCI', 'y', `${optionReason(config, 'conf_drivers_virtio')} with ${optionReason(config, 'conf_drivers_pci')}`);
  }

  if (o.conf_drivers_pci === true) b.addAll(archFragments[arch.name].withPci, `${optionReason(config, 'conf_drivers_pci')} on arch=${arch.name}: ${archFragments[arch.name].withPciWhy}`);

  // Xen HVM and PVH guest modes need PCI and ACPI respectively.
  if (o.conf_drivers_xen === true && o.conf_drivers_pci === true) {
    b.add('XEN_PVHVM_GUEST', 'y', `${optionReason(config, 'conf_drivers_xen')} with ${optionReason(config, 'conf_drivers_pci')}`);
  }
  if (o.conf_drivers_xen === true && o.conf_drivers_acpi === true) {
    b.add('XEN_PVH', 'y', `${optionReason(config, 'conf_drivers_xen')} with ${optionReason(config, 'conf_drivers_acpi')}`);
  }

  // (c) filesystem
  const fs = String(o.fs);
  const fsNeeds = filesystemNeeds[fs];
  if (!fsNeeds) throw new UsageError(`fs=${fs}: no kernel mapping for this filesystem`, `use one of ${Object.keys(filesystemNeeds).join(', ')}`);
  // A disk root's need for block brings the drivers profile's disk driver below (driversForNeeds): also when a
  // configuration profile such as minimal turned it off for ramfs images; a driver the user turned off is an error there.
  for (const need of fsNeeds) b.addAll(kernelFeatures[need]!.kconfig, `${optionReason(config, 'fs')}: kernel feature ${need}`);
  const compression = String(o.fs_compression ?? 'auto');
  if (fs === 'ramfs') b.addAll(initrdCompression[compression] ?? {}, `${optionReason(config, 'fs_compression')}: initramfs decompressor`);
  if (fs === 'rofs' && compression === 'xz') b.add('EROFS_FS_ZIP_LZMA', 'y', `${optionReason(config, 'fs_compression')}: EROFS LZMA decompressor`);

  // (d) module needs
  // (the filesystem's own needs, which the image stage passes too, already have their fs= reason)
  const validNeeds = validateKernelNeeds(needs, 'image modules');
  const who = (need: string) => {
    const modules = needSources.get(need);
    if (modules?.length) return modules.join(', ');
    return fsNeeds.includes(need) ? optionReason(config, 'fs') : 'the image';
  };
  for (const need of validNeeds) {
    if (fsNeeds.includes(need) && !needSources.has(need)) continue;
    b.addAll(kernelFeatures[need]!.kconfig, `kernel feature ${need} (needed by ${who(need)})`);
  }
  // A need for the network or a disk brings the drivers profile's device driver (device-drivers.ts).
  for (const d of driversForNeeds(config, [...new Set([...validNeeds, ...fsNeeds])], who)) b.addAll(d.kconfig, d.reason);

  // (e) options with a kernel mapping
  for (const name of ['conf_hide_symbols', 'opt', 'mode', 'lto', 'conf_preempt', 'conf_lazy_stack', 'conf_tracing', 'conf_mem_huge_page_size']) {
    addOptionMapping(b, config, name);
  }
  // Kernel image compression follows the optimisation goal: xz is smallest, lz4 decompresses fastest.
  // (PVH boots the uncompressed vmlinux and skips decompression altogether.)
  // (arm64's Image is not compressed: QEMU loads it as it is.)
  if (arch.kernel.compressedImage) {
    if (o.opt === '-Os') b.add('KERNEL_XZ', 'y', `${optionReason(config, 'opt')}: smallest bzImage`);
    else b.add('KERNEL_LZ4', 'y', `${optionReason(config, 'opt')}: fastest bzImage decompression`);
  }
  if (o.opt === '-O3') {
    makeVars.KCFLAGS = '-O3';
    notes.push('opt=-O3: Kconfig only knows -O2 (CC_OPTIMIZE_FOR_PERFORMANCE); -O3 is passed as KCFLAGS=-O3');
  }
  if (o.lto === true) makeVars.LLVM = '1';

  // (f) the source series: symbols its patches add and set (Tailor-Kconfig: lines)
  // A profile's patch yields to a need it contradicts (minimal's no-perf-events and a module that needs perf-events).
  const series = composeSeries(config, sourceRequests, notes).filter((layer) => {
    if (!layer.fromProfile) return true; // anyone else's patch that contradicts a need is a conflict (add)
    for (const [symbol, value] of Object.entries(layer.kconfig)) {
      const seen = b.get(symbol);
      if (!seen || seen.soft || seen.value === value) continue;
      notes.push(`kernel patch ${layer.name} left out: it sets ${kconfigLine(symbol, value)}, but ${kconfigLine(symbol, seen.value)} (${seen.reasons.join('; ')}); it came from ${layer.reasons.join('; ')}`);
      return false;
    }
    return true;
  });
  for (const layer of series) b.addAll(layer.kconfig, `kernel patch ${layer.name} (${layer.reasons.join('; ')})`);

  return { lines: b.lines(), makeVars, notes, ...(series.length ? { series } : {}) };
}

/** The fragment as a Kconfig file (what merge_config.sh reads). */
export function fragmentText(fragment: Fragment): string {
  return fragment.lines.map((l) => kconfigLine(l.symbol, l.value)).join('\n') + '\n';
}

/** The fragment with a `# reason` comment after each line, for `tailor kernel config`. */
export function describeFragment(fragment: Fragment): string {
  const width = Math.max(...fragment.lines.map((l) => kconfigLine(l.symbol, l.value).length));
  const out = fragment.lines.map((l) => `${kconfigLine(l.symbol, l.value).padEnd(width)}  # ${l.reasons.join('; ')}`);
  for (const [k, v] of Object.entries(fragment.makeVars)) out.push(`# make ${k}=${v}`);
  for (const n of fragment.notes) out.push(`# note: ${n}`);
  if (fragment.series?.length) out.push('# source series (applied in order to a copy of the kernel source):', ...describeSeries(fragment.series).map((l) => `#   ${l}`));
  return out.join('\n') + '\n';
}
