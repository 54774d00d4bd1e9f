/**
 * The QEMU command line for a build folder: a pure function of the build
 * record and the run options, so `--dry-run` prints exactly what `run` spawns.
 */
import { existsSync, statSync } from 'node:fs';
import { hostTscRate } from './host-tsc.ts';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import type { BuildRecord } from '../image/types.ts';
import type { Accel, Hypervisor } from './types.ts';
import { appCmdlineWord } from './app-cmdline.ts';
import { refuseDisksWithoutDriver, shareMountOptions, sharedMemoryArgs, storageArgs, type StorageRequest, type VirtioTransport } from './devices.ts';
import { hostRunsNatively, targetArch, targetArches, type TargetArch } from '../config/arch.ts';
import { networkArgs, type NetworkRequest } from './network.ts';

/** The x86-64 QEMU (exports boot x86-64 disks); a build's own binary comes from its architecture. */
export const qemuBinary = targetArches.x64.qemu.binary;

/** The target architecture of a build folder (absent in the record: x86-64). */
export function recordArch(record: BuildRecord): TargetArch {
  return targetArch(record.arch);
}

/**
 * How virtio devices attach: microvm has only virtio-mmio; a `-p qemu`
 * machine uses PCI, except arm64's virt with a kernel without PCI, whose
 * device tree lists virtio-mmio transports.
 */
export function virtioTransport(record: BuildRecord, plan: QemuPlan): VirtioTransport {
  if (plan.hypervisor === 'qemu_microvm') return 'mmio';
  return recordArch(record).qemu.mmioWithoutPci && !record.kernel.hasPci ? 'mmio' : 'pci';
}

/** Defaults for `tailor run`: 128 MiB fits Debian's stock kernel (needs ~81 MiB) with room for the app. */
export const defaultMemoryMiB = 128;
export const defaultCpus = 1;

export interface QemuPlan {
  readonly hypervisor: Exclude<Hypervisor, 'firecracker'>;
  readonly accel: Accel;
  readonly memoryMiB: number;
  readonly cpus: number;
  /** Replaces the image's application command line (OSv's -e). */
  readonly execute?: string;
  /** Force the bzImage even when a PVH vmlinux exists (for comparisons); default: the vmlinux. */
  readonly kernelForm?: 'pvh-vmlinux' | 'bzImage';
  /** Extra disks, a replacement root disk, NVMe, host shares (src/run/devices.ts). */
  readonly storage?: StorageRequest;
  /** Extra kernel words before ` -- ` (e.g. initcall_debug for `tailor bootchart`). */
  readonly kernelWords?: readonly string[];
  /** The network device (src/run/network.ts); undefined: none. */
  readonly network?: NetworkRequest;
  /** User data file for the cloud-init module (fw_cfg opt/tailor/user-data; q35 and microvm both have fw_cfg). */
  readonly userData?: string;
}

/** Whether the VM gets any virtio device (root disk, extra disks, shares): they need a transport. */
function hasVirtioDevices(record: BuildRecord, plan: QemuPlan): boolean {
  const s = plan.storage;
  const nic = plan.network !== undefined && plan.network.mode !== 'none';
  return !!(record.rootDisk || s?.diskImage || s?.extraDisks?.length || s?.shares?.length || nic);
}

export interface QemuCommand {
  readonly binary: string;
  readonly args: readonly string[];
  /** Host path of the kernel file passed to -kernel. */
  readonly kernelFile: string;
  /** Which kernel form: the PVH vmlinux (no firmware, no decompression) or the bzImage. */
  readonly kernelForm: 'pvh-vmlinux' | 'bzImage';
  /** The full -append string. */
  readonly cmdline: string;
}

/**
 * Kernel command line = the build's words, adjusted for the machine, then
 * ` -- ` and the application command line. On microvm (no PCI bus) `pci=off`
 * saves the PCI probe; on pc/q35 a root disk sits on PCI, so `pci=off` is dropped.
 */
export function kernelCommandLine(record: BuildRecord, plan: QemuPlan): string {
  let words = record.kernelCmdline.split(/\s+/).filter((w) => w !== '');
  // Under TCG the guest's TSC is the host's: give its rate, so the kernel never calibrates it against the
  // emulated PIT (which fails under load, and stalls the boot with ACPI on microvm: FIELD-NOTES.md; src/run/host-tsc.ts).
  const tsc = plan.accel === 'tcg' && recordArch(record).qemu.tcgTscIsHosts ? hostTscRate() : undefined;
  if (tsc && !words.some((w) => w.startsWith('tsc_early_khz='))) words.push(`tsc_early_khz=${tsc.khz}`);
  if (plan.hypervisor === 'qemu_microvm' && !words.includes('pci=off')) words.push('pci=off');
  // Under TCG the local APIC timer's setup and check are emulated slowly: measured here, the minimal custom
  // kernel reached the app in 230 ms instead of 493 ms, Debian's in 1150 instead of 1330. Under KVM the
  // APIC timer is cheap and the best clock event device, so it stays on. microvm with ACPI declares no
  // PIT, so there the APIC timer is the only tick (without it jiffies stop: btrfs's raid6 benchmark hung).
  if (plan.accel === 'tcg' && !microvmNeedsAcpi(record, plan)) for (const w of recordArch(record).qemu.tcgKernelWords) if (!words.includes(w)) words.push(w);
  for (const w of plan.kernelWords ?? []) if (!words.includes(w)) words.push(w);
  if (virtioTransport(record, plan) === 'pci' && (hasVirtioDevices(record, plan) || plan.storage?.nvmeImage)) words = words.filter((w) => w !== 'pci=off');
  const mounts = shareMountOptions(plan.storage?.shares, plan.storage?.shareTransport);
  let app = plan.execute ?? record.appCmdline;
  if (mounts) app = `${mounts}${app.trim() === '' ? '--noinit' : app}`;
  // A long line goes as one encoded word (Linux panics on the 33rd word after " -- ").
  return app.trim() === '' ? words.join(' ') : `${words.join(' ')} -- ${appCmdlineWord(app)}`;
}

/**
 * microvm tells the kernel about its virtio-mmio devices either by appending
 * virtio_mmio.device= words (acpi=off) or in ACPI tables. A kernel without
 * VIRTIO_MMIO_CMDLINE_DEVICES (Debian's) ignores the words, so it needs ACPI
 * (measured: PVH vmlinux + acpi=on boots under TCG with tsc_early_khz).
 */
export function microvmNeedsAcpi(record: BuildRecord, plan: QemuPlan): boolean {
  return plan.hypervisor === 'qemu_microvm' && record.kernel.virtioMmioCmdline === false && hasVirtioDevices(record, plan);
}

/** Checks the combination before anything is spawned; every failure names the fix. */
export function validatePlan(record: BuildRecord, plan: QemuPlan): void {
  const arch = recordArch(record);
  if (plan.hypervisor === 'qemu_microvm' && !arch.qemu.microvm) {
    throw new UsageError(
      `build ${record.name} is for ${arch.title}, and QEMU has no microvm machine there`,
      `run it with -p qemu (${arch.qemu.machine}: also firmware-less, direct kernel boot)`,
    );
  }
  if (plan.accel === 'kvm' && !hostRunsNatively(arch)) {
    throw new UsageError(`build ${record.name} is for ${arch.title}: KVM runs guests of this host's architecture only`, 'run it under TCG (--accel tcg, the default for a foreign architecture)');
  }
  if (!Number.isInteger(plan.memoryMiB) || plan.memoryMiB < 16) {
    throw new UsageError(`memory ${plan.memoryMiB} MiB is too small`, 'give at least 16 MiB, e.g. -m 128M');
  }
  if (!Number.isInteger(plan.cpus) || plan.cpus < 1 || plan.cpus > 255) {
    throw new UsageError(`cpus ${plan.cpus} is out of range`, 'give 1..255, e.g. -c 2');
  }
  if (plan.userData !== undefined && !(existsSync(plan.userData) && statSync(plan.userData).isFile())) {
    throw new UsageError(`--user-data ${plan.userData}: no such file`, 'give a #cloud-config file, e.g. --user-data user-data.yaml');
  }
  const transport = plan.storage?.shareTransport ?? '9p';
  if (plan.storage?.shares?.length && !(record.hostShares ?? []).includes(transport)) {
    throw new UsageError(
      `build ${record.name}: its kernel cannot mount ${transport} host shares, so --share has nothing to mount them with`,
      'rebuild with fs=virtiofs (it adds the 9p and virtiofs modules or kernel options)',
    );
  }
  refuseDisksWithoutDriver(record, plan.storage);
  if (hasVirtioDevices(record, plan) && plan.hypervisor === 'qemu_microvm' && !record.kernel.hasVirtioMmio) {
    throw new UsageError(
      `build ${record.name}: its kernel has no virtio-mmio, so its root disk cannot be attached on qemu_microvm`,
      'run it with -p qemu (virtio-pci), or rebuild with conf_drivers_profile=microvm (or conf_drivers_mmio=1)',
    );
  }
  if (plan.storage?.nvmeImage && plan.hypervisor === 'qemu' && !record.kernel.hasPci) {
    throw new UsageError(`build ${record.name}: its kernel has no PCI, so an NVMe disk cannot be attached`, 'rebuild with conf_drivers_pci=1 conf_drivers_nvme=1');
  }
  if (hasVirtioDevices(record, plan) && virtioTransport(record, plan) === 'pci' && !record.kernel.hasPci) {
    throw new UsageError(
      `build ${record.name}: its kernel has no PCI/virtio-pci, so its root disk cannot be attached on qemu (${arch.qemu.machine})`,
      'run it with -p qemu_microvm, or rebuild with conf_drivers_profile=virtio-pci (or conf_drivers_pci=1)',
    );
  }
}

/**
 * The machine: microvm boots with no firmware and no PCI; under TCG it keeps
 * PIT/PIC/RTC (without them the kernel hangs calibrating the TSC), with KVM
 * they go (kvmclock replaces them). `qemu` means q35, the modern PCIe
 * machine: pc was no faster here (TCG, PVH vmlinux, to QEMU exit, 3 boots each:
 * q35 4536/5228/6648 ms, pc 4689/4829/5866 ms; within the noise).
 */
function machineArgs(record: BuildRecord, plan: QemuPlan): string[] {
  const shm = plan.storage ? sharedMemoryArgs(plan.storage, plan.memoryMiB) : undefined;
  if (plan.hypervisor === 'qemu_microvm') {
    const legacy = plan.accel === 'kvm' ? ',pit=off,pic=off,rtc=off' : '';
    return ['-M', `microvm,x-option-roms=off,isa-serial=on,acpi=${microvmNeedsAcpi(record, plan) ? 'on' : 'off'}${legacy}${shm?.machineProp ?? ''}`, ...(shm?.object ?? [])];
  }
  return ['-M', `${recordArch(record).qemu.machine}${shm?.machineProp ?? ''}`, ...(shm?.object ?? [])];
}

/**
 * microvm without ACPI appends `virtio_mmio.device=` words at the very end of
 * the command line, after our ` -- `, where the kernel no longer reads them
 * (a custom kernel then finds no disk: "Unable to mount root fs on
 * unknown-block(0,0)"). So turn that off and put the words before ` -- `
 * ourselves. QEMU 7.2's layout (checked with `info qtree`): the n-th
 * virtio-mmio device (in -device order) sits on transport 7-n, at
 * 0xfeb00000 + 512*(7-n), IRQ 5 + (7-n).
 */
function microvmDeviceWords(record: BuildRecord, plan: QemuPlan, args: string[], cmdline: string): string {
  if (plan.hypervisor !== 'qemu_microvm' || microvmNeedsAcpi(record, plan)) return cmdline;
  const devices = args.filter((a, i) => args[i - 1] === '-device' && /^(virtio-[a-z0-9-]+-device|vhost-user-fs-device)(,|$)/.test(a)).length;
  if (devices === 0) return cmdline;
  const m = args.indexOf('-M');
  args[m + 1] = args[m + 1]!.replace('acpi=off', 'acpi=off,auto-kernel-cmdline=off');
  const words = Array.from({ length: devices }, (_, n) => `virtio_mmio.device=512@0x${(0xfeb00000 + 512 * (7 - n)).toString(16)}:${5 + 7 - n}`).join(' ');
  const cut = cmdline.indexOf(' -- ');
  return cut < 0 ? `${cmdline} ${words}` : `${cmdline.slice(0, cut)} ${words}${cmdline.slice(cut)}`;
}

/** CPU model from the architecture: the host's under KVM (x86-64: minus arch-capabilities, which nested KVM rejects); `max` under TCG. */
function cpuArgs(accel: Accel, arch: TargetArch): string[] {
  return accel === 'kvm' ? ['-accel', 'kvm', '-cpu', arch.qemu.cpuKvm] : ['-accel', 'tcg', '-cpu', arch.qemu.cpuTcg];
}

export function buildQemuCommand(buildDir: string, record: BuildRecord, plan: QemuPlan): QemuCommand {
  validatePlan(record, plan);
  // The PVH vmlinux skips firmware and decompression on every machine type QEMU offers.
  const usePvh = record.kernel.vmlinux !== undefined && plan.kernelForm !== 'bzImage';
  const kernel = usePvh ? record.kernel.vmlinux! : record.kernel.bzImage;
  const kernelForm = usePvh ? 'pvh-vmlinux' : 'bzImage';
  const cmdline = kernelCommandLine(record, plan);
  const args = [
    ...machineArgs(record, plan),
    ...cpuArgs(plan.accel, recordArch(record)),
    '-m', `${plan.memoryMiB}M`,
    '-smp', String(plan.cpus),
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    '-serial', 'stdio',
    '-kernel', join(buildDir, kernel.file),
  ];
  if (record.initrd) args.push('-initrd', join(buildDir, record.initrd.file));
  const root = record.rootDisk ? { file: join(buildDir, record.rootDisk.file), readOnly: record.rootDisk.readOnly } : undefined;
  const transport = virtioTransport(record, plan);
  args.push(...storageArgs(transport, root, plan.storage ?? {}));
  if (plan.network) args.push(...networkArgs(transport, plan.network));
  // QEMU's option syntax doubles a comma inside a value.
  if (plan.userData !== undefined) args.push('-fw_cfg', `name=opt/tailor/user-data,file=${resolve(plan.userData).replace(/,/g, ',,')}`);
  const full = microvmDeviceWords(record, plan, args, cmdline);
  args.push('-append', full);
  return { binary: recordArch(record).qemu.binary, args, kernelFile: join(buildDir, kernel.file), kernelForm, cmdline: full };
}

/** A copy-pasteable shell rendering of a command (for --dry-run and --verbose). */
export function shellQuote(words: readonly string[]): string {
  return words.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
