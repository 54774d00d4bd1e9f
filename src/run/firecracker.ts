/**
 * Firecracker's VM configuration for a build folder (`firecracker --no-api
 * --config-file FILE`), the counterpart of OSv's scripts/firecracker.py.
 * Firecracker loads the uncompressed vmlinux, has virtio-mmio only, and needs KVM.
 */
import { join } from 'node:path';
import { TailorError, UsageError } from '../errors.ts';
import type { BuildRecord } from '../image/types.ts';

export const firecrackerBinary = 'firecracker';

export interface FirecrackerPlan {
  readonly memoryMiB: number;
  readonly cpus: number;
  readonly execute?: string;
}

/**
 * Boot arguments: the build's words with power-off by keyboard-controller
 * reset (`reboot=k`, which Firecracker turns into a VM exit) instead of the
 * triple fault QEMU uses, no PCI, then ` -- ` and the application.
 */
export function firecrackerBootArgs(record: BuildRecord, plan: FirecrackerPlan): string {
  const words = record.kernelCmdline
    .split(/\s+/)
    .filter((w) => w !== '' && !w.startsWith('reboot='));
  words.push('reboot=k');
  if (!words.includes('pci=off')) words.push('pci=off');
  const app = plan.execute ?? record.appCmdline;
  return app.trim() === '' ? words.join(' ') : `${words.join(' ')} -- ${app}`;
}

export function firecrackerConfig(buildDir: string, record: BuildRecord, plan: FirecrackerPlan): Record<string, unknown> {
  if (!record.kernel.vmlinux) {
    throw new TailorError(`build ${record.name} has no uncompressed vmlinux, which Firecracker needs`, {
      hint: 'use -p qemu_microvm, or rebuild with a kernel that keeps its vmlinux',
    });
  }
  if (record.rootDisk && !record.kernel.hasVirtioMmio) {
    throw new UsageError(
      `build ${record.name}: its kernel has no virtio-mmio, the only transport Firecracker offers`,
      'rebuild with conf_drivers_profile=microvm (or conf_drivers_mmio=1)',
    );
  }
  return {
    'boot-source': {
      kernel_image_path: join(buildDir, record.kernel.vmlinux.file),
      boot_args: firecrackerBootArgs(record, plan),
      ...(record.initrd ? { initrd_path: join(buildDir, record.initrd.file) } : {}),
    },
    drives: record.rootDisk
      ? [
          {
            drive_id: 'root',
            path_on_host: join(buildDir, record.rootDisk.file),
            is_root_device: false,
            is_read_only: record.rootDisk.readOnly,
          },
        ]
      : [],
    'machine-config': { vcpu_count: plan.cpus, mem_size_mib: plan.memoryMiB, smt: false },
  };
}
