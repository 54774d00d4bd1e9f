/**
 * The EFI system partition as a FAT32 image file: mkfs.vfat on a plain file
 * and mtools to put the UKI at the removable-media path \EFI\BOOT\BOOTX64.EFI,
 * which firmware boots with no boot entry. No mount, no loop device.
 */
import { copyFile, mkdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { MissingToolError } from '../errors.ts';
import { exec, hasCommand } from '../util/exec.ts';

const mib = 1024 * 1024;
/** FAT32 needs at least 65525 clusters; 64 MiB of 512-byte clusters is comfortably above. */
export const minEspBytes = 64 * mib;

/** ESP size for a UKI: room for it twice (an update beside the old one), at least 64 MiB, whole MiB. */
export function espBytesFor(ukiBytes: number): number {
  return Math.max(minEspBytes, Math.ceil((2 * ukiBytes + 4 * mib) / mib) * mib);
}

export async function checkEspTools(): Promise<void> {
  if (!(await hasCommand('mkfs.vfat'))) throw new MissingToolError('mkfs.vfat', 'dosfstools', 'the EFI system partition (tailor export)');
  if (!(await hasCommand('mcopy'))) throw new MissingToolError('mcopy', 'mtools', 'the EFI system partition (tailor export)');
}

/**
 * Writes a FAT32 file system of `bytes` to `out` holding `uki` as
 * \EFI\BOOT\BOOTX64.EFI. `volumeId` is 8 hex digits. The tree is staged in
 * `work` with fixed times and copied whole (mcopy -s -m), so the same inputs
 * give the same bytes.
 */
export async function makeEsp(out: string, bytes: number, uki: string, volumeId: string, work: string): Promise<void> {
  await checkEspTools();
  const tree = join(work, 'esp-tree');
  const boot = join(tree, 'EFI', 'BOOT');
  await mkdir(boot, { recursive: true });
  const file = join(boot, 'BOOTX64.EFI');
  await copyFile(uki, file);
  const epoch = new Date('2000-01-01T00:00:00Z');
  for (const p of [file, boot, join(tree, 'EFI')]) await utimes(p, epoch, epoch);
  await exec('truncate', ['-s', String(bytes), out]);
  await exec('mkfs.vfat', ['-F', '32', '-n', 'ESP', '-i', volumeId, '--invariant', out]);
  await exec('mcopy', ['-s', '-m', '-i', out, join(tree, 'EFI'), '::/'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
}
