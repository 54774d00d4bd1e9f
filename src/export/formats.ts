/** The export formats: one table, read by the CLI help, the exporter and the docs. */

const mib = 1024 * 1024;
const gib = 1024 * mib;

export interface DiskFormat {
  readonly help: string;
  /** The output's file name for a build named `name`. */
  readonly file: (name: string) => string;
  /** qemu-img's output format; undefined: the raw disk itself. */
  readonly qemuImg?: string;
  /** Extra `qemu-img convert -o` options. */
  readonly qemuImgOptions?: string;
  /** The disk is a multiple of this many bytes. */
  readonly roundTo: number;
  /** gce: the raw disk goes into a sparse tar.gz as disk.raw. */
  readonly gceTar?: boolean;
}

export const diskFormats = {
  raw: { help: 'raw GPT disk (QEMU with OVMF, dd to a USB stick, Proxmox)', file: (n: string) => `${n}.raw`, roundTo: mib },
  qcow2: { help: 'QEMU/KVM, libvirt, OpenStack', file: (n: string) => `${n}.qcow2`, qemuImg: 'qcow2', roundTo: mib },
  vmdk: { help: 'VMware (stream-optimized, what vSphere and EC2 import take)', file: (n: string) => `${n}.vmdk`, qemuImg: 'vmdk', qemuImgOptions: 'subformat=streamOptimized', roundTo: mib },
  vhdx: { help: 'Hyper-V', file: (n: string) => `${n}.vhdx`, qemuImg: 'vhdx', roundTo: mib },
  gce: { help: 'Google Compute Engine image import: disk.raw (whole GiB) in a sparse tar.gz', file: (n: string) => `${n}.gce.tar.gz`, roundTo: gib, gceTar: true },
  aws: { help: 'AWS EC2 snapshot import (raw; register the AMI with --boot-mode uefi)', file: (n: string) => `${n}.aws.raw`, roundTo: mib },
} as const satisfies Record<string, DiskFormat>;

export type DiskFormatName = keyof typeof diskFormats;

export const exportFormatHelp: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries(diskFormats).map(([k, v]) => [k, v.help])),
  kubevirt: 'KubeVirt: a containerDisk image and a kernelBoot image (OCI layout and docker-archive) and a VirtualMachine manifest',
};

export const exportFormatNames: readonly string[] = Object.keys(exportFormatHelp);

export function isDiskFormat(name: string): name is DiskFormatName {
  return Object.hasOwn(diskFormats, name);
}
