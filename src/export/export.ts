/** `tailor export FORMAT`: one entry for every format. */
import { targetArch } from '../config/arch.ts';
import { UsageError } from '../errors.ts';
import type { BuildFolder } from '../run/build-folder.ts';
import { exportDisk, type ExportedFile } from './bootable.ts';
import { exportFormatNames, isDiskFormat } from './formats.ts';
import { exportKubevirt } from './kubevirt.ts';
import { defaultCpus, defaultMemoryMiB } from '../run/qemu.ts';

export interface ExportRequest {
  readonly format: string;
  readonly out?: string;
  readonly execute?: string;
  readonly log?: (line: string) => void;
  /** kubevirt: the registry path the images go to, the VM's memory and CPUs. */
  readonly registry?: string;
  readonly memoryMiB?: number;
  readonly cpus?: number;
}

/** Where KubeVirt images are named to go when --registry is not given (a local registry: docs/export.md). */
export const defaultRegistry = 'localhost:5000/tailor';

export async function exportBuild(build: BuildFolder, req: ExportRequest): Promise<ExportedFile[]> {
  const arch = targetArch(build.record.arch);
  if (!arch.exportDisks && (isDiskFormat(req.format) || req.format === 'kubevirt')) {
    throw new UsageError(
      `build ${build.record.name} is for ${arch.title}: tailor export writes x86-64 UEFI disks only (the ${req.format} format holds such a disk)`,
      `boot the build folder directly: tailor run ${build.dir} (QEMU virt), or tailor run -p firecracker --dry-run for a Firecracker configuration`,
    );
  }
  if (isDiskFormat(req.format)) {
    const unused = (['registry', 'memoryMiB', 'cpus'] as const).filter((k) => req[k] !== undefined);
    if (unused.length) req.log?.(`tailor: ${unused.map((k) => ({ registry: '--registry', memoryMiB: '-m', cpus: '-c' })[k]).join(', ')} ha${unused.length > 1 ? 've' : 's'} no effect on a ${req.format} disk (a disk carries no VM settings; they are for kubevirt)`);
    return [await exportDisk(build, { ...req, format: req.format })];
  }
  if (req.format === 'kubevirt') {
    return exportKubevirt(build, { ...req, registry: req.registry ?? defaultRegistry, memoryMiB: req.memoryMiB ?? defaultMemoryMiB, cpus: req.cpus ?? defaultCpus });
  }
  throw new UsageError(`unknown export format "${req.format}"`, `give one of ${exportFormatNames.join(', ')}`);
}
