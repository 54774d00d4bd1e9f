/**
 * Firecracker's VM configuration for a build folder (`firecracker --no-api
 * --config-file FILE`), the counterpart of OSv's scripts/firecracker.py.
 * Firecracker loads the uncompressed vmlinux, offers virtio-mmio block and
 * network devices only (no PCI, no fw_cfg, no shared folders, no user-mode
 * network), and needs KVM. What it cannot do is refused naming the
 * alternative; nothing a user asked for is dropped.
 */
import { join } from 'node:path';
import { targetArch, type FirecrackerTarget } from '../config/arch.ts';
import { TailorError, UsageError } from '../errors.ts';
import type { BuildRecord } from '../image/types.ts';
import { appCmdlineWord } from './app-cmdline.ts';
import { existingFile, refuseDisksWithoutDriver, type StorageRequest } from './devices.ts';
import { guestMac, type NetworkRequest } from './network.ts';
import { firecrackerMaxVcpus, type FirecrackerConfig, type FirecrackerDrive } from './firecracker-schema.ts';

export const firecrackerBinary = 'firecracker';
export const firecrackerReleases = 'https://github.com/firecracker-microvm/firecracker/releases';

export interface FirecrackerPlan {
  readonly memoryMiB: number;
  readonly cpus: number;
  readonly execute?: string;
  /** --disk-image replaces the root drive; --second-disk-image adds drives; shares and NVMe are refused. */
  readonly storage?: StorageRequest;
  /** tap (-n) becomes a network interface; user-mode forwarding is refused. */
  readonly network?: NetworkRequest;
  /** --user-data travels over QEMU's fw_cfg, which Firecracker lacks: refused. */
  readonly userData?: string;
  readonly kernelWords?: readonly string[];
}

/** The guest interface a `-n` tap device becomes (the first virtio-net device is eth0). */
export const firecrackerGuestInterface = 'eth0';

/** Throws for every run option Firecracker cannot honour, naming what to use instead. */
export function refuseUnsupported(plan: FirecrackerPlan): void {
  const s = plan.storage;
  if (s?.shares?.length) {
    throw new UsageError(
      '--share: Firecracker has no shared folders (neither virtio-fs nor 9p)',
      'put the files on a disk (tailor disk create --fs ext4 ..., then --second-disk-image FILE and --mount-fs in -e), or run with -p qemu_microvm',
    );
  }
  if (s?.nvmeImage) {
    throw new UsageError('--nvme-image: Firecracker has no NVMe (its disks are virtio-blk over MMIO)', 'give the disk as --second-disk-image FILE (/dev/vdb), or run with -p qemu');
  }
  const n = plan.network;
  if (n?.mode === 'user' && (n.forwards?.length ?? 0) > 0) {
    throw new UsageError(
      '--forward/--api: Firecracker has no user-mode network to forward ports from',
      'give a tap device with -n TAP and --ip=eth0,ADDR/PREFIX in -e, then reach the guest at ADDR; or run with -p qemu_microvm',
    );
  }
  if (n?.mode === 'tap' && n.vhost) {
    throw new UsageError('-v: Firecracker\'s virtio-net device lives in the VMM; it has no vhost-net', 'drop -v, or run with -p qemu');
  }
  if (n?.mode === 'tap' && (n.queues ?? 1) > 1) {
    throw new UsageError(`--virtio-net-queues ${n.queues}: Firecracker's virtio-net has a single queue pair`, 'drop --virtio-net-queues, or run with -p qemu');
  }
  if (plan.userData !== undefined) {
    throw new UsageError(
      '--user-data: Firecracker has no fw_cfg, which carries the cloud-init user data to the guest',
      'run with -p qemu_microvm (the same virtio-mmio machine), or build the settings into the image',
    );
  }
  if (!Number.isInteger(plan.cpus) || plan.cpus < 1 || plan.cpus > firecrackerMaxVcpus) {
    throw new UsageError(`-c ${plan.cpus}: Firecracker runs 1..${firecrackerMaxVcpus} vCPUs`, `give -c ${firecrackerMaxVcpus} or fewer, or run with -p qemu (up to 255)`);
  }
  if (!Number.isInteger(plan.memoryMiB) || plan.memoryMiB < 16) {
    throw new UsageError(`memory ${plan.memoryMiB} MiB is too small`, 'give at least 16 MiB, e.g. -m 128M');
  }
}

/** What the run will do differently from QEMU, for the user to read (not errors). */
export function firecrackerNotices(record: BuildRecord, plan: FirecrackerPlan): string[] {
  const notes: string[] = [];
  const n = plan.network;
  if (n?.mode === 'user') {
    notes.push(`tailor: image ${record.name} wants a network, and Firecracker has no user-mode network: the VM gets no network device (give -n TAP for one)`);
  }
  if (n?.mode === 'tap' && !/(^|\s)--ip=eth0,/.test(plan.execute ?? record.appCmdline)) {
    notes.push(`tailor: -n ${n.tapDevice}: the command line has no --ip=eth0,ADDR/PREFIX, so the guest waits 1.5 s for DHCP on the tap and then takes 10.0.2.15/24`);
  }
  return notes;
}

/**
 * Boot arguments: the build's words with the QEMU machine's console and
 * power-off words replaced by Firecracker's (x86-64: keyboard-controller
 * reset, `reboot=k`, which Firecracker turns into a VM exit, instead of the
 * triple fault QEMU uses; arm64: console=ttyS0 for its 16550 UART, PSCI as
 * on QEMU), then ` -- ` and the application encoded as QEMU's path encodes
 * it (a long line is one word: Linux panics past 32 init arguments). No
 * `pci=off`: Firecracker adds that itself.
 */
export function firecrackerBootArgs(record: BuildRecord, plan: FirecrackerPlan): string {
  const target = firecrackerTarget(record);
  const words = record.kernelCmdline
    .split(/\s+/)
    .filter((w) => w !== '' && !w.startsWith('reboot=') && w !== 'pci=off')
    .map((w) => (w.startsWith('console=') ? `console=${target.console}` : w));
  words.push(...target.powerOffWords);
  for (const w of plan.kernelWords ?? []) if (w !== 'pci=off' && !words.includes(w)) words.push(w);
  const app = plan.execute ?? record.appCmdline;
  return app.trim() === '' ? words.join(' ') : `${words.join(' ')} -- ${appCmdlineWord(app)}`;
}

/** The build architecture's Firecracker description; refused for an architecture Tailor writes no configuration for. */
export function firecrackerTarget(record: BuildRecord): FirecrackerTarget {
  const arch = targetArch(record.arch);
  if (!arch.firecracker) {
    throw new UsageError(`build ${record.name} is for ${arch.title}: Tailor writes no Firecracker configuration for it`, 'run it with -p qemu');
  }
  return arch.firecracker;
}

/**
 * The kernel file Firecracker loads: the uncompressed vmlinux on x86-64 (an
 * ELF; the bzImage is refused), the boot Image on arm64 (a PE image;
 * Firecracker refuses an ELF there), which must also drive its console.
 */
function kernelImage(buildDir: string, record: BuildRecord, target: FirecrackerTarget): string {
  if (target.kernel === 'vmlinux') {
    if (!record.kernel.vmlinux) {
      throw new TailorError(`build ${record.name} has no uncompressed vmlinux, which Firecracker needs`, {
        hint: 'use -p qemu_microvm, or rebuild with a kernel that keeps its vmlinux',
      });
    }
    return join(buildDir, record.kernel.vmlinux.file);
  }
  if (record.kernel.firecrackerConsole === false) {
    throw new TailorError(`build ${record.name}: its kernel lacks Firecracker's serial console (${target.consoleSymbols.join(', ')} built in)`, {
      hint: 'rebuild with kernel=custom (its arm64 fragment has them), or run with -p qemu',
    });
  }
  return join(buildDir, record.kernel.bzImage.file);
}

/**
 * Drives in /dev/vdX order: the root (the build's disk or --disk-image) as
 * vda, then each --second-disk-image. root= stays on the command line, so
 * no drive is Firecracker's "root device".
 */
function drives(buildDir: string, record: BuildRecord, storage: StorageRequest | undefined): FirecrackerDrive[] {
  const out: FirecrackerDrive[] = [];
  const root = storage?.diskImage ? existingFile('--disk-image', storage.diskImage) : record.rootDisk && join(buildDir, record.rootDisk.file);
  if (root) out.push({ drive_id: 'root', path_on_host: root, is_root_device: false, is_read_only: storage?.diskImage ? false : record.rootDisk?.readOnly ?? false });
  (storage?.extraDisks ?? []).forEach((f, i) =>
    out.push({ drive_id: `disk${i + 1}`, path_on_host: existingFile('--second-disk-image', f), is_root_device: false, is_read_only: false }),
  );
  return out;
}

export function firecrackerConfig(buildDir: string, record: BuildRecord, plan: FirecrackerPlan): FirecrackerConfig {
  const target = firecrackerTarget(record);
  const kernel = kernelImage(buildDir, record, target);
  refuseUnsupported(plan);
  refuseDisksWithoutDriver(record, plan.storage);
  const disks = drives(buildDir, record, plan.storage);
  const tap = plan.network?.mode === 'tap' ? plan.network : undefined;
  if ((disks.length || tap) && !record.kernel.hasVirtioMmio) {
    throw new UsageError(
      `build ${record.name}: its kernel has no virtio-mmio, the only transport Firecracker offers`,
      'rebuild with conf_drivers_profile=microvm (or conf_drivers_mmio=1)',
    );
  }
  return {
    'boot-source': {
      kernel_image_path: kernel,
      boot_args: firecrackerBootArgs(record, plan),
      ...(record.initrd ? { initrd_path: join(buildDir, record.initrd.file) } : {}),
    },
    drives: disks,
    'machine-config': { vcpu_count: plan.cpus, mem_size_mib: plan.memoryMiB, smt: false },
    ...(tap ? { 'network-interfaces': [{ iface_id: firecrackerGuestInterface, host_dev_name: tap.tapDevice ?? 'tap0', guest_mac: guestMac }] } : {}),
  };
}
