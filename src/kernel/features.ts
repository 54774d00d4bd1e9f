/**
 * The one table of named kernel features: the words modules use in
 * module.yaml (`kernel: [net, epoll]`) and the filesystem stage asks for
 * (`erofs`, `virtio-blk`). Each feature says what a custom kernel must set
 * (Kconfig symbols, including the menus they hide behind) and which
 * modules Debian's stock kernel has it as (empty when Debian builds it in).
 *
 * Stock facts are for Debian's linux-image 6.1 amd64; test/unit and
 * test/e2e check them against the real package's config and modules.
 */
import { TailorError, UsageError } from '../errors.ts';
import { didYouMean } from '../config/suggest.ts';

export interface KernelFeature {
  readonly help: string;
  /** Kconfig assignments (no CONFIG_ prefix) a custom kernel needs for this feature. */
  readonly kconfig: Record<string, string>;
  /** Module names (as in modules.dep) Debian's kernel has this feature as; [] when built in. */
  readonly stockModules: string[];
}

// Shared dependency sets, so a menu symbol is spelt once.
const NET = { NET: 'y' };
const INET = { ...NET, INET: 'y' };
const BLOCK = { BLOCK: 'y' };
const BLOCKDEV = { ...BLOCK, BLK_DEV: 'y' };
const VIRTIO = { VIRTIO_MENU: 'y' };
const MISC_FS = { MISC_FILESYSTEMS: 'y' };
const NET_FS = { ...NET, NETWORK_FILESYSTEMS: 'y' };

export const kernelFeatures: Record<string, KernelFeature> = {
  // networking
  net: { help: 'TCP/IP networking (IPv4)', kconfig: { ...INET }, stockModules: [] },
  ipv6: { help: 'IPv6 networking', kconfig: { ...INET, IPV6: 'y' }, stockModules: [] },
  'unix-sockets': { help: 'Unix domain sockets (AF_UNIX)', kconfig: { ...NET, UNIX: 'y' }, stockModules: [] },
  'packet-sockets': { help: 'raw packet sockets (AF_PACKET: DHCP clients, tcpdump)', kconfig: { ...NET, PACKET: 'y' }, stockModules: [] },
  vsock: {
    help: 'virtio vsock sockets (host<->guest without a network)',
    kconfig: { ...NET, ...VIRTIO, VSOCKETS: 'y', VIRTIO_VSOCKETS: 'y' },
    stockModules: ['vmw_vsock_virtio_transport'],
  },

  // system calls an application may rely on
  epoll: { help: 'epoll event polling', kconfig: { EPOLL: 'y' }, stockModules: [] },
  eventfd: { help: 'eventfd file descriptors', kconfig: { EVENTFD: 'y' }, stockModules: [] },
  timerfd: { help: 'timerfd file descriptors', kconfig: { TIMERFD: 'y' }, stockModules: [] },
  signalfd: { help: 'signalfd file descriptors', kconfig: { SIGNALFD: 'y' }, stockModules: [] },
  inotify: { help: 'inotify file change notification', kconfig: { INOTIFY_USER: 'y' }, stockModules: [] },
  futex: { help: 'fast user-space mutexes (needed by threads in glibc and musl)', kconfig: { FUTEX: 'y' }, stockModules: [] },
  aio: { help: 'POSIX asynchronous I/O system calls (io_submit)', kconfig: { AIO: 'y' }, stockModules: [] },
  'io-uring': { help: 'io_uring asynchronous I/O', kconfig: { IO_URING: 'y' }, stockModules: [] },
  sysvipc: { help: 'System V IPC: shared memory, semaphores, message queues', kconfig: { SYSVIPC: 'y' }, stockModules: [] },
  'posix-mqueue': { help: 'POSIX message queues (mq_open)', kconfig: { ...NET, POSIX_MQUEUE: 'y' }, stockModules: [] },
  'file-locking': { help: 'flock() and fcntl() file locks', kconfig: { FILE_LOCKING: 'y' }, stockModules: [] },
  memfd: { help: 'memfd_create() anonymous files', kconfig: { MEMFD_CREATE: 'y' }, stockModules: [] },

  // devices
  block: { help: 'the block layer (any disk)', kconfig: { ...BLOCK }, stockModules: [] },
  'virtio-mmio': {
    help: 'virtio over memory-mapped I/O (QEMU microvm, Firecracker); devices from the kernel command line',
    kconfig: { ...VIRTIO, VIRTIO_MMIO: 'y', VIRTIO_MMIO_CMDLINE_DEVICES: 'y' },
    stockModules: ['virtio_mmio'],
  },
  'virtio-pci': { help: 'virtio over PCI (QEMU pc/q35, Cloud Hypervisor)', kconfig: { PCI: 'y', ...VIRTIO, VIRTIO_PCI: 'y' }, stockModules: ['virtio_pci'] },
  'virtio-blk': { help: 'virtio block devices (/dev/vda)', kconfig: { ...BLOCKDEV, VIRTIO_BLK: 'y' }, stockModules: ['virtio_blk'] },
  'virtio-net': {
    help: 'virtio network interfaces',
    kconfig: { ...NET, NETDEVICES: 'y', NET_CORE: 'y', VIRTIO_NET: 'y' },
    stockModules: ['virtio_net'],
  },
  'virtio-rng': { help: 'virtio entropy source (fast getrandom at boot)', kconfig: { HW_RANDOM: 'y', HW_RANDOM_VIRTIO: 'y' }, stockModules: ['virtio_rng'] },
  'virtio-scsi': {
    help: 'virtio SCSI disks (/dev/sda)',
    kconfig: { ...BLOCK, SCSI: 'y', BLK_DEV_SD: 'y', SCSI_LOWLEVEL: 'y', SCSI_VIRTIO: 'y' },
    stockModules: ['virtio_scsi', 'sd_mod'],
  },
  pty: { help: 'pseudo-terminals (/dev/ptmx, /dev/pts: ssh, script, terminal emulators)', kconfig: { TTY: 'y', UNIX98_PTYS: 'y' }, stockModules: [] },
  'virtio-console': { help: 'virtio console ports (/dev/hvc0, /dev/vport*)', kconfig: { TTY: 'y', VIRTIO_CONSOLE: 'y' }, stockModules: ['virtio_console'] },
  nvme: { help: 'NVMe disks over PCI', kconfig: { PCI: 'y', ...BLOCK, BLK_DEV_NVME: 'y' }, stockModules: ['nvme'] },
  pvpanic: { help: 'pvpanic ISA/MMIO device: a guest panic is reported to the host', kconfig: { PVPANIC: 'y', PVPANIC_MMIO: 'y' }, stockModules: ['pvpanic_mmio'] },
  'fw-cfg': {
    help: 'QEMU fw_cfg files in sysfs (/sys/firmware/qemu_fw_cfg: tailor run --user-data for cloud-init)',
    kconfig: { FW_CFG_SYSFS: 'y' },
    stockModules: ['qemu_fw_cfg'],
  },
  'pvpanic-pci': { help: 'pvpanic PCI device: a guest panic is reported to the host', kconfig: { PCI: 'y', PVPANIC: 'y', PVPANIC_PCI: 'y' }, stockModules: ['pvpanic_pci'] },

  // filesystems
  erofs: {
    help: 'EROFS, the compressed read-only root of fs=rofs',
    kconfig: { ...BLOCK, ...MISC_FS, EROFS_FS: 'y', EROFS_FS_ZIP: 'y' },
    stockModules: ['erofs'],
  },
  squashfs: { help: 'SquashFS compressed read-only filesystem', kconfig: { ...BLOCK, ...MISC_FS, SQUASHFS: 'y' }, stockModules: ['squashfs'] },
  ext4: { help: 'ext4 (also mounts ext2/ext3)', kconfig: { ...BLOCK, EXT4_FS: 'y' }, stockModules: ['ext4'] },
  btrfs: { help: 'Btrfs (compression, snapshots, checksums)', kconfig: { ...BLOCK, BTRFS_FS: 'y' }, stockModules: ['btrfs'] },
  '9p': {
    help: '9p host directory shares over virtio (fs=virtiofs without a virtiofsd)',
    kconfig: { ...NET_FS, INET: 'y', ...VIRTIO, NET_9P: 'y', NET_9P_VIRTIO: 'y', '9P_FS': 'y' },
    stockModules: ['9p', '9pnet_virtio'],
  },
  virtiofs: { help: 'virtio-fs host directory shares (needs virtiofsd on the host)', kconfig: { FUSE_FS: 'y', VIRTIO_FS: 'y' }, stockModules: ['virtiofs'] },
  overlayfs: { help: 'overlay filesystem (a writable layer over a read-only root)', kconfig: { OVERLAY_FS: 'y' }, stockModules: ['overlay'] },
  tmpfs: { help: 'tmpfs memory filesystems (/tmp, --tmpfs)', kconfig: { SHMEM: 'y', TMPFS: 'y' }, stockModules: [] },
  hugetlbfs: { help: 'hugetlbfs huge-page mappings', kconfig: { HUGETLBFS: 'y' }, stockModules: [] },

  // observability
  tracing: {
    // perf events too: x86's trace events assume them (irq_vectors.h's perf permission hook does not
    // build without), so minimal's no-perf-events patch yields to this need
    help: 'kernel tracepoints and tracefs (tailor trace), with perf events',
    kconfig: { FTRACE: 'y', ENABLE_DEFAULT_TRACERS: 'y', PERF_EVENTS: 'y' },
    stockModules: [],
  },

  // system calls tinyconfig leaves out (names used by the syscall table, src/kernel/syscalls.ts)
  multiuser: { help: 'user and group IDs (setuid, setgroups, capget: servers that drop root)', kconfig: { MULTIUSER: 'y' }, stockModules: [] },
  advise: { help: 'madvise() and posix_fadvise() (malloc arenas, jemalloc, databases)', kconfig: { ADVISE_SYSCALLS: 'y' }, stockModules: [] },
  rseq: { help: 'restartable sequences (glibc registers one per thread)', kconfig: { RSEQ: 'y' }, stockModules: [] },
  membarrier: { help: 'membarrier() (JITs, user-space RCU)', kconfig: { MEMBARRIER: 'y' }, stockModules: [] },
  fhandle: { help: 'name_to_handle_at()/open_by_handle_at()', kconfig: { FHANDLE: 'y' }, stockModules: [] },
  kcmp: { help: 'kcmp() (compare two processes\' kernel resources)', kconfig: { KCMP: 'y' }, stockModules: [] },
  'cross-memory-attach': { help: 'process_vm_readv/writev()', kconfig: { CROSS_MEMORY_ATTACH: 'y' }, stockModules: [] },
  userfaultfd: { help: 'userfaultfd() (user-space page fault handling)', kconfig: { USERFAULTFD: 'y' }, stockModules: [] },
  bpf: { help: 'the bpf() system call', kconfig: { BPF_SYSCALL: 'y' }, stockModules: [] },
  seccomp: { help: 'seccomp system call filters', kconfig: { SECCOMP: 'y' }, stockModules: [] },
  'perf-events': { help: 'perf_event_open() performance counters', kconfig: { PERF_EVENTS: 'y' }, stockModules: [] },
  keys: { help: 'kernel key retention (add_key, keyctl)', kconfig: { KEYS: 'y' }, stockModules: [] },
  fanotify: { help: 'fanotify filesystem-wide notification', kconfig: { FANOTIFY: 'y' }, stockModules: [] },

  // firmware
  efi: {
    help: 'EFI stub: UEFI firmware starts the kernel itself (tailor export writes disks that boot with no -kernel); EFI needs ACPI',
    kconfig: { ACPI: 'y', EFI: 'y', EFI_STUB: 'y' },
    stockModules: [],
  },
};

export const kernelFeatureNames: readonly string[] = Object.keys(kernelFeatures).sort();

/**
 * Check kernel need names (from module.yaml or the filesystem stage) and
 * return them without duplicates, in first-seen order. `where` names the
 * input for the error, e.g. "module httpserver (modules/httpserver/module.yaml)".
 */
export function validateKernelNeeds(needs: readonly string[], where = 'kernel needs'): string[] {
  const out: string[] = [];
  for (const need of needs) {
    if (!Object.hasOwn(kernelFeatures, need)) {
      const suggestion = didYouMean(need, kernelFeatureNames);
      throw new UsageError(
        `${where}: unknown kernel feature "${need}"${suggestion ? ` (${suggestion})` : ''}`,
        `known kernel features: ${kernelFeatureNames.join(', ')}`,
      );
    }
    if (!out.includes(need)) out.push(need);
  }
  return out;
}

/** The stock-kernel modules the needs ask for (before dependency resolution), each once. */
export function stockModulesFor(needs: readonly string[]): string[] {
  const out: string[] = [];
  for (const need of validateKernelNeeds(needs)) {
    for (const m of kernelFeatures[need]!.stockModules) if (!out.includes(m)) out.push(m);
  }
  return out;
}

export interface KconfigRequirement {
  readonly symbol: string;
  readonly value: string;
  /** The needs that asked for it, e.g. ["kernel feature erofs", "kernel feature ext4"]. */
  readonly reasons: readonly string[];
}

/**
 * The Kconfig assignments the needs ask for, sorted by symbol, each with
 * the features that asked for it. Two features asking different values of
 * one symbol is an error (the table is wrong).
 */
export function kconfigFor(needs: readonly string[]): KconfigRequirement[] {
  const bySymbol = new Map<string, { value: string; reasons: string[] }>();
  for (const need of validateKernelNeeds(needs)) {
    for (const [symbol, value] of Object.entries(kernelFeatures[need]!.kconfig)) {
      const seen = bySymbol.get(symbol);
      if (!seen) bySymbol.set(symbol, { value, reasons: [`kernel feature ${need}`] });
      else if (seen.value !== value) {
        throw new TailorError(`kernel features disagree on CONFIG_${symbol}: ${seen.reasons.join(', ')} want ${seen.value}, ${need} wants ${value}`);
      } else seen.reasons.push(`kernel feature ${need}`);
    }
  }
  return [...bySymbol.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([symbol, { value, reasons }]) => ({ symbol, value, reasons }));
}
