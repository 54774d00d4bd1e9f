/**
 * How to boot an exported disk the way a cloud does: UEFI firmware (Debian's
 * OVMF) on QEMU's q35, the disk on virtio-blk, no -kernel. The e2e test and
 * the docs use this command; `bootQemu` (src/run) runs it.
 */
import { existsSync } from 'node:fs';
import { MissingToolError } from '../errors.ts';
import { qemuBinary, type QemuCommand } from '../run/qemu.ts';

/** OVMF with its variable store in one image (Debian's ovmf package); -bios keeps the variables in memory. */
export const ovmfImage = '/usr/share/ovmf/OVMF.fd';

export function firmwareBootCommand(disk: string, format: 'raw' | 'qcow2' | 'vmdk' | 'vhdx', opts: { memoryMiB?: number; accel?: 'kvm' | 'tcg' } = {}): QemuCommand {
  if (!existsSync(ovmfImage)) throw new MissingToolError(ovmfImage, 'ovmf', 'booting an exported disk with UEFI firmware');
  const accel = opts.accel ?? 'tcg';
  return {
    binary: qemuBinary,
    args: [
      '-M', 'q35', '-accel', accel, '-cpu', accel === 'kvm' ? 'host' : 'max',
      '-m', `${opts.memoryMiB ?? 256}M`,
      '-nodefaults', '-no-user-config', '-nographic', '-no-reboot', '-serial', 'stdio',
      '-bios', ovmfImage,
      '-drive', `file=${disk.replace(/,/g, ',,')},format=${format},if=virtio`,
    ],
    kernelFile: '',
    kernelForm: 'bzImage',
    cmdline: '',
  };
}
