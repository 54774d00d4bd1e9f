/** Kernel command-line words (before ` -- `) for an image, and the kernel needs its root filesystem adds. */

/** Words that cut boot time on a one-application VM (FIELD-NOTES.md), plus power-off by reboot (docs/guest-protocol.md). */
const baseWords = [
  'console=ttyS0',
  'quiet',
  'panic=-1',
  'reboot=t',
  '8250.nr_uarts=1',
  'cryptomgr.notests',
  'i8042.noaux',
  'i8042.nokbd',
  'no_timer_check',
  'tsc=reliable',
];

const rootWords: Record<string, readonly string[]> = {
  ramfs: ['rdinit=/init'],
  rofs: ['root=/dev/vda', 'ro', 'rootfstype=erofs', 'init=/init'],
  ext4: ['root=/dev/vda', 'rw', 'rootfstype=ext4', 'init=/init'],
  btrfs: ['root=/dev/vda', 'rw', 'rootfstype=btrfs', 'init=/init'],
};

export function kernelWords(fs: string, opts: { pci: boolean; btrfsCompression?: string }): string[] {
  const words = [...baseWords, ...(rootWords[fs] ?? [])];
  if (fs === 'btrfs' && opts.btrfsCompression && opts.btrfsCompression !== 'none') {
    words.push(`rootflags=compress=${opts.btrfsCompression}`);
  }
  if (!opts.pci) words.push('pci=off');
  return words;
}

/** Kernel features each root filesystem needs (names from src/kernel/features.ts). */
export const rootfsNeeds: Readonly<Record<string, readonly string[]>> = {
  ramfs: [],
  rofs: ['block', 'virtio-blk', 'erofs'],
  ext4: ['block', 'virtio-blk', 'ext4'],
  btrfs: ['block', 'virtio-blk', 'btrfs'],
  virtiofs: ['virtiofs', '9p'],
};
