/**
 * The QEMU command line for a build folder: a pure function of the build
 * record and the run options, so `--dry-run` prints exactly what `run` spawns.
 */
import { join } from 'node:path';
import { UsageError } from '../errors.ts';
import type { BuildRecord } from '../image/types.ts';
import type { Accel, Hypervisor } from './types.ts';

export const qemuBinary = 'qemu-system-x86_64';

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
  if (plan.hypervisor === 'qemu_microvm' && !words.includes('pci=off')) words.push('pci=off');
  if (plan.hypervisor === 'qemu' && record.rootDisk) words = words.filter((w) => w !== 'pci=off');
  const app = plan.execute ?? record.appCmdline;
  return app.trim() === '' ? words.join(' ') : `${words.join(' ')} -- ${app}`;
}

/** Checks the combination before anything is spawned; every failure names the fix. */
export function validatePlan(record: BuildRecord, plan: QemuPlan): void {
  if (!Number.isInteger(plan.memoryMiB) || plan.memoryMiB < 16) {
    throw new UsageError(`memory ${plan.memoryMiB} MiB is too small`, 'give at least 16 MiB, e.g. -m 128M');
  }
  if (!Number.isInteger(plan.cpus) || plan.cpus < 1 || plan.cpus > 255) {
    throw new UsageError(`cpus ${plan.cpus} is out of range`, 'give 1..255, e.g. -c 2');
  }
  if (record.rootDisk && plan.hypervisor === 'qemu_microvm' && !record.kernel.hasVirtioMmio) {
    throw new UsageError(
      `build ${record.name}: its kernel has no virtio-mmio, so its root disk cannot be attached on qemu_microvm`,
      'run it with -p qemu (virtio-pci), or rebuild with conf_drivers_profile=microvm (or conf_drivers_mmio=1)',
    );
  }
  if (record.rootDisk && plan.hypervisor === 'qemu' && !record.kernel.hasPci) {
    throw new UsageError(
      `build ${record.name}: its kernel has no PCI/virtio-pci, so its root disk cannot be attached on qemu (q35)`,
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
function machineArgs(plan: QemuPlan): string[] {
  if (plan.hypervisor === 'qemu_microvm') {
    const legacy = plan.accel === 'kvm' ? ',pit=off,pic=off,rtc=off' : '';
    return ['-M', `microvm,x-option-roms=off,isa-serial=on,acpi=off${legacy}`];
  }
  return ['-M', 'q35'];
}

/** CPU model: the host's under KVM (minus arch-capabilities, which nested KVM rejects); `max` under TCG. */
function cpuArgs(accel: Accel): string[] {
  return accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host,-arch-capabilities'] : ['-accel', 'tcg', '-cpu', 'max'];
}

export function buildQemuCommand(buildDir: string, record: BuildRecord, plan: QemuPlan): QemuCommand {
  validatePlan(record, plan);
  // The PVH vmlinux skips firmware and decompression on every machine type QEMU offers.
  const usePvh = record.kernel.vmlinux !== undefined && plan.kernelForm !== 'bzImage';
  const kernel = usePvh ? record.kernel.vmlinux! : record.kernel.bzImage;
  const kernelForm = usePvh ? 'pvh-vmlinux' : 'bzImage';
  const cmdline = kernelCommandLine(record, plan);
  const args = [
    ...machineArgs(plan),
    ...cpuArgs(plan.accel),
    '-m', `${plan.memoryMiB}M`,
    '-smp', String(plan.cpus),
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    '-serial', 'stdio',
    '-kernel', join(buildDir, kernel.file),
  ];
  if (record.initrd) args.push('-initrd', join(buildDir, record.initrd.file));
  if (record.rootDisk) {
    const ro = record.rootDisk.readOnly ? 'on' : 'off';
    args.push('-drive', `id=root,file=${join(buildDir, record.rootDisk.file)},if=none,format=raw,readonly=${ro}`);
    args.push('-device', plan.hypervisor === 'qemu_microvm' ? 'virtio-blk-device,drive=root' : 'virtio-blk-pci,drive=root');
  }
  args.push('-append', cmdline);
  return { binary: qemuBinary, args, kernelFile: join(buildDir, kernel.file), kernelForm, cmdline };
}

/** A copy-pasteable shell rendering of a command (for --dry-run and --verbose). */
export function shellQuote(words: readonly string[]): string {
  return words.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
