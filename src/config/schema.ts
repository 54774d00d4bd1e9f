/**
 * The option schema: every build option is defined here once. CLI help,
 * `tailor options`, validation, docs/options.md and the kernel mapping are
 * all derived from this table.
 */
import type { KconfigAssignments, OptionSpec } from './schema-types.ts';

const stockKernel = (o: Readonly<Record<string, unknown>>) =>
  o.kernel === 'stock' ? 'it only changes a custom kernel and kernel=stock is selected (use kernel=custom)' : undefined;

/** The driver switches, in the order `tailor options` lists them. */
export const driverSwitches = [
  'mmio', 'pci', 'acpi', 'virtio', 'virtio_blk', 'virtio_net', 'virtio_scsi', 'virtio_fs', 'virtio_rng',
  'xen', 'hyperv', 'vmware', 'ahci', 'ide', 'nvme', 'scsi', 'pvscsi', 'vmxnet3', 'ena', 'hpet', 'pvpanic', 'vga',
] as const;
export type DriverSwitch = (typeof driverSwitches)[number];

/**
 * OSv's implication rules: a switch that is on turns these on too
 * (any virtio_* ⇒ virtio; PCI devices ⇒ pci; hpet/pvpanic ⇒ acpi).
 */
export const driverImplications: Readonly<Partial<Record<DriverSwitch, readonly DriverSwitch[]>>> = {
  virtio_blk: ['virtio'],
  virtio_net: ['virtio'],
  virtio_scsi: ['virtio', 'scsi'],
  virtio_fs: ['virtio'],
  virtio_rng: ['virtio'],
  nvme: ['pci'],
  ahci: ['pci', 'scsi'],
  ide: ['pci'],
  pvscsi: ['pci', 'scsi'],
  vmxnet3: ['pci'],
  vmware: ['pci'], // VMCI and the balloon sit on PCI
  ena: ['pci'],
  vga: ['pci'],
  hyperv: ['acpi'],
  hpet: ['acpi'],
  pvpanic: ['acpi'],
};

/** Driver profiles: which switches each turns on (all others off). */
export const driverProfiles: Readonly<Record<string, { help: string; on: readonly DriverSwitch[] }>> = {
  all: { help: 'every driver Tailor knows (OSv default)', on: driverSwitches },
  base: { help: 'no device drivers: serial console only (ramfs images)', on: [] },
  virtio: { help: 'virtio over both virtio-mmio and PCI (boots on qemu and qemu_microvm)', on: ['mmio', 'pci', 'acpi', 'virtio', 'virtio_blk', 'virtio_net', 'virtio_rng'] },
  microvm: { help: 'QEMU microvm / Firecracker: virtio-mmio, no PCI, no ACPI', on: ['mmio', 'virtio', 'virtio_blk', 'virtio_net'] },
  'virtio-mmio': { help: 'virtio devices over virtio-mmio only', on: ['mmio', 'virtio', 'virtio_blk', 'virtio_net', 'virtio_rng', 'virtio_fs'] },
  'virtio-pci': { help: 'virtio devices over PCI (QEMU pc/q35, GCP)', on: ['pci', 'acpi', 'virtio', 'virtio_blk', 'virtio_net', 'virtio_scsi', 'virtio_rng', 'virtio_fs'] },
  aws: { help: 'AWS Nitro: ENA network, NVMe storage', on: ['pci', 'acpi', 'nvme', 'ena', 'hpet'] },
  xen: { help: 'Xen paravirtual front ends', on: ['pci', 'acpi', 'xen'] },
  vmware: { help: 'VMware: vmxnet3, PVSCSI, AHCI', on: ['pci', 'acpi', 'vmware', 'vmxnet3', 'pvscsi', 'scsi', 'ahci'] },
  hyperv: { help: 'Hyper-V / Azure: VMBus storage and network', on: ['pci', 'acpi', 'hyperv'] },
  vbox: { help: 'VirtualBox: AHCI storage, virtio-net', on: ['pci', 'acpi', 'ahci', 'scsi', 'virtio', 'virtio_net'] },
  nvme: { help: 'NVMe storage over PCI', on: ['pci', 'acpi', 'nvme'] },
  cloud_hypervisor: { help: 'Cloud Hypervisor: virtio over PCI with ACPI', on: ['pci', 'acpi', 'virtio', 'virtio_blk', 'virtio_net', 'virtio_rng', 'virtio_fs'] },
};

/** Kconfig symbols per driver switch: the one place the custom kernel's driver mapping lives. */
const driverKconfig: Readonly<Record<DriverSwitch, { help: string; on: KconfigAssignments; off?: KconfigAssignments }>> = {
  mmio: { help: 'virtio-mmio transport (QEMU microvm, Firecracker)', on: { VIRTIO_MENU: 'y', VIRTIO_MMIO: 'y', VIRTIO_MMIO_CMDLINE_DEVICES: 'y' } },
  pci: { help: 'PCI bus', on: { PCI: 'y' }, off: { PCI: 'n' } },
  acpi: { help: 'ACPI (power-off, device discovery on pc/q35)', on: { ACPI: 'y' }, off: { ACPI: 'n' } },
  virtio: { help: 'virtio core (and virtio-pci when pci is on)', on: { VIRTIO_MENU: 'y' } },
  virtio_blk: { help: 'virtio block devices', on: { BLOCK: 'y', BLK_DEV: 'y', VIRTIO_BLK: 'y' } },
  virtio_net: { help: 'virtio network', on: { NET: 'y', NETDEVICES: 'y', NET_CORE: 'y', VIRTIO_NET: 'y' } },
  virtio_scsi: { help: 'virtio SCSI', on: { BLOCK: 'y', SCSI: 'y', SCSI_LOWLEVEL: 'y', SCSI_VIRTIO: 'y' } },
  virtio_fs: { help: 'virtio-fs host shares', on: { FUSE_FS: 'y', VIRTIO_FS: 'y' } },
  virtio_rng: { help: 'virtio entropy source', on: { HW_RANDOM: 'y', HW_RANDOM_VIRTIO: 'y' } },
  xen: { help: 'Xen PV guest and block front end (PVHVM with pci, PVH with acpi)', on: { HYPERVISOR_GUEST: 'y', PARAVIRT: 'y', XEN: 'y', XEN_PV: 'y', BLOCK: 'y', BLK_DEV: 'y', XEN_BLKDEV_FRONTEND: 'y' } },
  hyperv: { help: 'Hyper-V VMBus, storage and network', on: { HYPERVISOR_GUEST: 'y', HYPERV: 'y', BLOCK: 'y', SCSI: 'y', SCSI_LOWLEVEL: 'y', HYPERV_STORAGE: 'y' } },
  vmware: { help: 'VMware guest support (VMCI, balloon)', on: { HYPERVISOR_GUEST: 'y', VMWARE_VMCI: 'y', VMWARE_BALLOON: 'y' } },
  ahci: { help: 'SATA AHCI disks', on: { BLOCK: 'y', ATA: 'y', SATA_AHCI: 'y', BLK_DEV_SD: 'y' } },
  ide: { help: 'legacy IDE (PIIX) disks', on: { BLOCK: 'y', ATA: 'y', ATA_SFF: 'y', ATA_BMDMA: 'y', ATA_PIIX: 'y', BLK_DEV_SD: 'y' } },
  nvme: { help: 'NVMe disks', on: { BLOCK: 'y', BLK_DEV: 'y', BLK_DEV_NVME: 'y' } },
  scsi: { help: 'SCSI disk layer', on: { BLOCK: 'y', SCSI: 'y', BLK_DEV_SD: 'y' } },
  pvscsi: { help: 'VMware PVSCSI', on: { SCSI_LOWLEVEL: 'y', VMWARE_PVSCSI: 'y' } },
  vmxnet3: { help: 'VMware vmxnet3 network', on: { NET: 'y', NETDEVICES: 'y', ETHERNET: 'y', INET: 'y', VMXNET3: 'y' } },
  ena: { help: 'AWS ENA network', on: { NET: 'y', NETDEVICES: 'y', ETHERNET: 'y', PCI_MSI: 'y', NET_VENDOR_AMAZON: 'y', ENA_ETHERNET: 'y' } },
  hpet: { help: 'HPET timer', on: { HPET_TIMER: 'y' } },
  pvpanic: { help: 'pvpanic device (guest panic reported to the host)', on: { PVPANIC: 'y', PVPANIC_MMIO: 'y' } },
  vga: { help: 'VGA text console', on: { VT: 'y', VGA_CONSOLE: 'y' } },
};

const driverOptions: OptionSpec[] = driverSwitches.map((sw) => ({
  name: `conf_drivers_${sw}`,
  type: 'bool' as const,
  default: false,
  group: 'drivers' as const,
  help: `${driverKconfig[sw].help}. Default: from conf_drivers_profile`,
  kernel: { whenOn: driverKconfig[sw].on, ...(driverKconfig[sw].off ? { whenOff: driverKconfig[sw].off } : {}) },
  effect: 'with kernel=stock: selects which driver modules the image loads',
}));

export const optionSchema: readonly OptionSpec[] = [
  // image
  { name: 'image', type: 'list', default: ['native-example'], group: 'image', help: 'modules that make up the image, comma-separated (image=empty: the empty image)' },
  { name: 'modules', type: 'list', default: [], group: 'image', help: 'modules added to the image= set; a name prefixed with ! is removed', osvNote: 'as OSv: adds to the image; !name drops a module the image or a profile brought in' },
  { name: 'app', type: 'string', default: '', group: 'image',
    help: 'a program from this host as the application, with its arguments (app="/usr/bin/redis-server --port 6379"): the binary, its interpreter and library closure, /etc files; it runs as the image\'s command. Replaces the default image= unless image= is given',
    osvNote: 'like ops/Capstan "run this host binary"; OSv itself takes host files through usr.manifest (/usr/bin/x: ->/usr/bin/x), which Tailor also closes over' },
  { name: 'extra_libs', type: 'list', default: [], group: 'image',
    help: 'libraries the host programs dlopen, comma-separated: sonames (libfoo.so.1), absolute paths, or directories to search; each brings its own library closure' },
  { name: 'name', type: 'string', default: '', group: 'output', help: 'build folder name under build/ (default: the image modules joined with +)' },
  { name: 'export', type: 'enum', default: 'none', values: ['none', 'all', 'selected'], group: 'output', help: 'also copy the image contents to build/<name>/export/ (all: every file; selected: only the modules\' own files)' },
  { name: 'arch', type: 'enum', default: 'x64', values: ['x64', 'aarch64'], group: 'kernel', help: 'target architecture: x64, or aarch64 (arm64: cross-built kernel, init and native modules; runs on qemu-system-aarch64 -M virt, under TCG on an x86-64 host; docs/aarch64.md)' },
  { name: 'mode', type: 'enum', default: 'release', values: ['release', 'debug'], group: 'kernel', help: 'release: optimised; debug: debug info and kernel self-checks',
    kernel: { perValue: { debug: { DEBUG_KERNEL: 'y', DEBUG_INFO_DWARF5: 'y', BUG: 'y', DEBUG_BUGVERBOSE: 'y' } } }, noEffect: stockKernel },
  { name: 'kernel', type: 'enum', default: 'custom', values: ['custom', 'general', 'stock'], group: 'kernel', help: "custom: a kernel built for this image from the options below (cached; the first build takes minutes); general: one kernel per driver profile and options with every built-in module's needs and the ramfs/rofs/ext4 roots, shared by the images it covers; stock: Debian's prebuilt kernel plus the modules the image needs (the quick start and every benchmark's baseline)" },

  // filesystem
  { name: 'fs', type: 'enum', default: 'ramfs', values: ['ramfs', 'rofs', 'ext4', 'btrfs', 'virtiofs'], group: 'filesystem',
    help: 'root filesystem: ramfs (initramfs), rofs (compressed read-only EROFS), ext4, btrfs (read-write disks), virtiofs (host share)',
    rejected: { zfs: 'Linux has no ZFS in its tree, so Tailor cannot put one in a kernel; use fs=btrfs (compression, snapshots, checksums) or fs=ext4' } },
  { name: 'fs_size_mb', type: 'int', default: 0, unit: 'MiB', min: 0, max: 1048576, group: 'filesystem', help: 'size of a read-write root disk (0: content plus headroom)',
    noEffect: (o) => (o.fs === 'ext4' || o.fs === 'btrfs' ? undefined : `only read-write roots (fs=ext4, fs=btrfs) have a size, and fs=${String(o.fs)}`) },
  { name: 'fs_compression', type: 'enum', default: 'auto', values: ['auto', 'none', 'gzip', 'lz4', 'lz4hc', 'zstd', 'xz', 'lzo'], aliases: ['zfs_compression'], group: 'filesystem',
    help: 'compression of the root filesystem (auto: gzip for ramfs, lz4hc for rofs, zstd for btrfs)',
    noEffect: (o) => (o.fs === 'ext4' || o.fs === 'virtiofs' ? `fs=${String(o.fs)} is not compressed` : undefined) },

  // kernel features
  { name: 'conf_drivers_profile', type: 'enum', default: 'virtio', values: Object.keys(driverProfiles), group: 'drivers',
    help: 'driver set; the conf_drivers_* switches refine it' },
  ...driverOptions,
  { name: 'kernel_patches', type: 'list', default: [], group: 'kernel',
    help: 'unified diffs applied in order to a copy of the kernel source before Kconfig runs (custom and general kernels): paths to .patch files, or the names of the built-in patches (the .patch files in conf/kernel-patches/); a patch may set the symbols it adds with Tailor-Kconfig: CONFIG_X=y lines before its first diff',
    effect: 'the series (with the modules\' kernel_patches: and kernel_sources:) is part of the kernel cache key; tailor kernel config lists it',
    noEffect: stockKernel },
  { name: 'conf_hide_symbols', type: 'bool', default: false, group: 'kernel', help: 'no kallsyms in the kernel and every ELF file in the image stripped',
    kernel: { whenOn: { KALLSYMS: 'n' } }, effect: 'strips ELF files in the image',
    // Half of the option works with any kernel (stripping); the kallsyms half needs a custom kernel: say so.
    noEffect: (o) => (o.kernel === 'stock' ? "on Debian's stock kernel, which keeps its kallsyms (the image's ELF files are still stripped); use kernel=custom for a kernel without them" : undefined) },
  { name: 'conf_lazy_stack', type: 'bool', default: false, group: 'memory', help: 'allocate thread stacks on demand',
    osvNote: 'Linux already maps user thread stacks on demand; for the kernel this selects virtually mapped kernel stacks (VMAP_STACK)',
    kernel: { whenOn: { VMAP_STACK: 'y' } }, noEffect: stockKernel },
  { name: 'conf_preempt', type: 'bool', default: false, group: 'kernel', help: 'preemptible kernel (lower latency, slightly slower throughput)',
    kernel: { whenOn: { PREEMPT: 'y' }, whenOff: { PREEMPT_NONE: 'y' } }, noEffect: stockKernel },
  { name: 'conf_tracing', type: 'bool', default: false, group: 'kernel', help: 'kernel tracepoints and tracefs (for tailor trace)',
    kernel: { whenOn: { FTRACE: 'y', ENABLE_DEFAULT_TRACERS: 'y', TRACING: 'y' } }, noEffect: stockKernel },
  { name: 'conf_mem_page_size', type: 'int', default: 4096, unit: 'bytes', min: 4096, max: 4096, group: 'memory', help: 'base page size (x86-64 has only 4096)' },
  { name: 'conf_mem_l1_cache_size', type: 'int', default: 0, unit: 'KiB', min: 0, max: 1048576, group: 'memory',
    help: 'per-CPU allocation cache size (0: kernel default)',
    osvNote: 'OSv sizes its own per-CPU pools; Linux SLUB sizes per-CPU caches itself, so Tailor records this value but it changes nothing',
    noEffect: () => 'Linux sizes its per-CPU slab caches itself; this OSv pool size has no Linux equivalent' },
  { name: 'conf_mem_l2_cache_size', type: 'int', default: 0, unit: 'KiB', min: 0, max: 1048576, group: 'memory',
    help: 'shared allocation pool size (0: kernel default)',
    osvNote: 'OSv sizes its global page pool; Linux has no fixed-size pool',
    noEffect: () => 'Linux has no fixed-size global allocation pool; this OSv pool size has no Linux equivalent' },
  { name: 'conf_mem_huge_page_size', type: 'int', default: 0, unit: 'bytes', min: 0, max: 1073741824, group: 'memory',
    help: 'huge pages for the application: 2097152 (2 MiB) or 1073741824 (1 GiB); 0: off',
    kernel: { perValue: { '2097152': { TRANSPARENT_HUGEPAGE: 'y', HUGETLBFS: 'y' }, '1073741824': { TRANSPARENT_HUGEPAGE: 'y', HUGETLBFS: 'y' } } },
    noEffect: stockKernel },

  // compiler
  { name: 'opt', type: 'enum', default: '-O2', values: ['-O2', '-Os', '-O3'], group: 'compiler', help: 'optimisation level of the kernel and of modules built from source (-Os, -O2, -O3 on the command line too)',
    kernel: { perValue: { '-Os': { CC_OPTIMIZE_FOR_SIZE: 'y' }, '-O2': { CC_OPTIMIZE_FOR_PERFORMANCE: 'y' }, '-O3': { CC_OPTIMIZE_FOR_PERFORMANCE: 'y' } } } },
  { name: 'lto', type: 'bool', default: false, group: 'compiler', help: 'link-time optimisation (kernel: clang ThinLTO)',
    kernel: { whenOn: { LTO_CLANG_THIN: 'y' } }, noEffect: stockKernel },
  { name: 'march', type: 'string', default: 'x86-64', group: 'compiler', help: 'target CPU for modules built from source (-march=..., e.g. x86-64-v3; armv8-a when arch=aarch64 and march is not given)' },
  { name: 'mtune', type: 'string', default: 'generic', group: 'compiler', help: 'CPU to tune modules built from source for (-mtune=...)' },
  { name: 'cflags', type: 'list', default: [], group: 'compiler', help: 'extra C flags for modules built from source (profiles: CFLAGS += ...)' },
  { name: 'profile', type: 'enum', default: 'none', values: ['none', 'generate', 'use'], group: 'compiler',
    help: 'profile-guided optimisation of modules built from source (not --profile=NAME, which picks a configuration profile)' },
];

/** Look up an option by name or alias. */
export const optionsByName: ReadonlyMap<string, OptionSpec> = new Map(
  optionSchema.flatMap((spec) => [[spec.name, spec] as const, ...(spec.aliases ?? []).map((a) => [a, spec] as const)]),
);
