/**
 * Disks and host shares on the QEMU command line: the root disk, extra
 * virtio-blk disks (/dev/vdb, ...), an NVMe disk (/dev/nvme0n1, PCI only)
 * and 9p host shares, with the device model each machine type needs
 * (microvm: virtio-mmio `-device ...-device`; q35: virtio-pci).
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import type { BuildRecord } from '../image/types.ts';

export interface HostShare {
  readonly hostDir: string;
  readonly tag: string;
  /** Where the init mounts it (adds --mount-fs=9p,TAG,PATH); undefined: the command line mounts it itself. */
  readonly guestPath?: string;
}

export interface StorageRequest {
  /** Replaces the build's root disk (--disk-image). */
  readonly diskImage?: string;
  /** Extra virtio-blk disks after the root: /dev/vdb, /dev/vdc ... (--second-disk-image). */
  readonly extraDisks?: readonly string[];
  readonly nvmeImage?: string;
  readonly nvmeQueues?: number;
  readonly shares?: readonly HostShare[];
  /** How shares reach the guest: virtiofs (a virtiofsd per share) or virtio-9p. Default 9p. */
  readonly shareTransport?: ShareTransport;
  /** virtiofs: the daemons' vhost-user sockets, one per share (set by the runner once they run). */
  readonly shareSockets?: readonly string[];
}

export type ShareTransport = 'virtiofs' | '9p';

/** How virtio devices attach: virtio-mmio (`-device virtio-*-device`: microvm, arm64 virt without PCI) or PCI. */
export type VirtioTransport = 'mmio' | 'pci';

/** `HOSTDIR:TAG[:GUESTPATH]` → a share; the folder must exist. */
export function parseShare(text: string, cwd: string = process.cwd()): HostShare {
  const m = /^([^:]+):([A-Za-z0-9_.-]{1,31})(?::(\/[^:]*))?$/.exec(text);
  if (!m) {
    throw new UsageError(
      `--share "${text}" is not HOSTDIR:TAG[:GUESTPATH]`,
      'e.g. --share ./src:src:/src (TAG: up to 31 letters, digits, _ . -; GUESTPATH absolute)',
    );
  }
  const hostDir = resolve(cwd, m[1]!);
  if (!existsSync(hostDir) || !statSync(hostDir).isDirectory()) {
    throw new UsageError(`--share: ${hostDir} is not a folder on this host`, 'share an existing folder');
  }
  return { hostDir, tag: m[2]!, ...(m[3] ? { guestPath: m[3] } : {}) };
}

export function parseShareTransport(text: string | undefined): ShareTransport | undefined {
  if (text === undefined || text === 'virtiofs' || text === '9p') return text;
  throw new UsageError(`--share-transport "${text}" is not virtiofs or 9p`, 'give --share-transport virtiofs or --share-transport 9p');
}

/** The absolute path of an existing regular file given with `what` (a flag), else a UsageError naming it. */
export function existingFile(what: string, path: string): string {
  const abs = resolve(path);
  if (!existsSync(abs) || !statSync(abs).isFile()) {
    throw new UsageError(`${what}: no file at ${abs}`, 'create one with: tailor disk create --fs ext4 --size 64M FILE');
  }
  return abs;
}

function commaSafe(path: string): string {
  // QEMU option values are comma-separated; a comma in a path must be doubled.
  return path.replace(/,/g, ',,');
}

/**
 * QEMU arguments for the disks and shares. `root` is the build's root disk
 * (or undefined for an initramfs build). Order matters: virtio-blk disks are
 * named in probe order, so the root comes first (/dev/vda).
 */
export function storageArgs(
  transport: VirtioTransport,
  root: { file: string; readOnly: boolean } | undefined,
  req: StorageRequest,
): string[] {
  const mmio = transport === 'mmio';
  const args: string[] = [];
  const disks: { id: string; file: string; readOnly: boolean }[] = [];
  const rootFile = req.diskImage ? existingFile('--disk-image', req.diskImage) : root?.file;
  if (rootFile) disks.push({ id: 'root', file: rootFile, readOnly: root?.readOnly ?? false });
  (req.extraDisks ?? []).forEach((f, i) => disks.push({ id: `disk${i + 1}`, file: existingFile('--second-disk-image', f), readOnly: false }));
  for (const d of disks) {
    args.push('-drive', `id=${d.id},file=${commaSafe(d.file)},if=none,format=raw,readonly=${d.readOnly ? 'on' : 'off'}`);
    args.push('-device', `${mmio ? 'virtio-blk-device' : 'virtio-blk-pci'},drive=${d.id}`);
  }
  if (req.nvmeImage) {
    if (mmio) {
      throw new UsageError('--nvme-image needs PCI, and this machine attaches devices over virtio-mmio (no PCI bus)', 'run with -p qemu on a kernel with PCI');
    }
    const file = existingFile('--nvme-image', req.nvmeImage);
    const queues = req.nvmeQueues ?? 1;
    if (!Number.isInteger(queues) || queues < 1 || queues > 64) throw new UsageError(`--nvme-queues ${queues} is out of range`, 'give 1..64');
    args.push('-drive', `id=nvme0,file=${commaSafe(file)},if=none,format=raw`);
    args.push('-device', `nvme,drive=nvme0,serial=tailor-nvme0,max_ioqpairs=${queues}`);
  }
  const shares = req.shares ?? [];
  if (req.shareTransport === 'virtiofs' && shares.length) {
    // vhost-user needs guest memory the daemon can map (shared memfd, see machine memory-backend=),
    // and libvhost-user rejects legacy virtio-mmio devices
    if (mmio) args.push('-global', 'virtio-mmio.force-legacy=false');
    shares.forEach((s, i) => {
      const sock = req.shareSockets?.[i] ?? `<virtiofsd socket ${i}>`;
      args.push('-chardev', `socket,id=vfs${i},path=${commaSafe(sock)}`);
      args.push('-device', `${mmio ? 'vhost-user-fs-device' : 'vhost-user-fs-pci'},chardev=vfs${i},tag=${s.tag}`);
    });
    return args;
  }
  shares.forEach((s, i) => {
    args.push('-fsdev', `local,id=share${i},path=${commaSafe(s.hostDir)},security_model=none`);
    args.push('-device', `${mmio ? 'virtio-9p-device' : 'virtio-9p-pci'},fsdev=share${i},mount_tag=${s.tag}`);
  });
  return args;
}

/** virtiofs shares need the guest RAM in a shared memfd: the -object and the machine property naming it. */
export function sharedMemoryArgs(req: StorageRequest, memoryMiB: number): { object: string[]; machineProp: string } | undefined {
  if (req.shareTransport !== 'virtiofs' || !req.shares?.length) return undefined;
  return { object: ['-object', `memory-backend-memfd,id=mem,size=${memoryMiB}M,share=on`], machineProp: ',memory-backend=mem' };
}

/** The --mount-fs options that mount the shares given with a guest path, to put before the command line. */
export function shareMountOptions(shares: readonly HostShare[] | undefined, transport: ShareTransport = '9p'): string {
  return (shares ?? [])
    .filter((s) => s.guestPath)
    .map((s) => `--mount-fs=${transport},${s.tag},${s.guestPath} `)
    .join('');
}

/**
 * A disk given at run time to a kernel without a virtio-blk driver would be
 * attached and never seen by the guest: refused, naming the rebuild. (The
 * driver comes from the drivers profile, or from an image need for block;
 * --profile=minimal and Debian's kernel without that need have none.)
 */
export function refuseDisksWithoutDriver(record: BuildRecord, req: StorageRequest | undefined): void {
  if (record.kernel.hasVirtioBlk !== false) return;
  const extra = req?.extraDisks ?? [];
  // --disk-image in place of a root disk is that root (the kernel has its driver); on an initramfs build it is a new disk.
  const diskForRamfs = Boolean(req?.diskImage) && !record.rootDisk;
  if (extra.length === 0 && !diskForRamfs) return;
  const what = extra.length > 0 ? '--second-disk-image' : '--disk-image';
  throw new UsageError(
    `${what}: build ${record.name}'s kernel has no virtio-blk driver, so the guest would see no disk (its image needs no block device${record.profile ? `, and --profile=${record.profile} leaves the driver out` : ''})`,
    `rebuild with conf_drivers_virtio_blk=1${record.kernel.flavour === 'stock' ? ' (with kernel=stock: loads the virtio_blk module)' : ''}, or add a module whose kernel: needs include block`,
  );
}

