/**
 * The kernel command line baked into an exported disk's UKI: the build's
 * words with the root pointed at the disk's root partition, then ` -- ` and
 * the application (one encoded word when long, as `tailor run` sends it).
 */
import type { BuildRecord } from '../image/types.ts';
import { appCmdlineWord } from '../run/app-cmdline.ts';

/**
 * A kernel that mounts its root itself finds partition 2 by its GPT
 * PARTUUID, whatever the disk is called on the cloud (vda, sda, nvme0n1).
 * The stock kernel's small initramfs mounts the root in the init, which
 * takes a device path: virtio-blk's second partition.
 */
export function exportCmdline(record: BuildRecord, rootPartuuid: string, execute?: string): string {
  const words = record.kernelCmdline
    .split(/\s+/)
    .filter((w) => w !== '')
    .map((w) => {
      if (w.startsWith('root=')) return `root=PARTUUID=${rootPartuuid.toLowerCase()}`;
      if (w.startsWith('tailor.root=')) return `${w}2`;
      return w;
    });
  const app = execute ?? record.appCmdline;
  return app.trim() === '' ? words.join(' ') : `${words.join(' ')} -- ${appCmdlineWord(app)}`;
}
