/**
 * Export (a stage beside run): reads a finished build folder and hands the
 * image to other engines: bootable disks (a UKI on an EFI system partition,
 * the root filesystem as its own partition) in raw, qcow2, vmdk, vhdx, GCE
 * and AWS form, and KubeVirt container images with a VirtualMachine manifest.
 */
export { exportBuild } from './export.ts';
export type { ExportRequest } from './export.ts';
export { exportDisk, checkEfiKernel, rebuildWithEfi } from './bootable.ts';
export type { ExportedFile, DiskExportRequest } from './bootable.ts';
export { diskFormats, exportFormatHelp, exportFormatNames, isDiskFormat } from './formats.ts';
export type { DiskFormatName } from './formats.ts';
