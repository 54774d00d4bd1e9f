/** Kernel command-line words (before ` -- `) for an image, and the kernel needs its root filesystem adds. */

import { targetArches, type TargetArch } from '../config/arch.ts';

/**
 * Words that cut boot time on a one-application VM (FIELD-NOTES.md), plus
 * power-off by reboot (docs/guest-protocol.md): the console, then the
 * architecture's own words (src/config/arch.ts).
 *
 * `random.trust_cpu=on`: the kernel's random pool counts the CPU's RNG
 * (RDRAND, arm64's RNDR) as entropy, as Debian's kernel does by its
 * configuration. Without it a tailored kernel (CONFIG_RANDOM_TRUST_CPU off in
 * tinyconfig) blocked getrandom() until "crng init done", 2.6 s into a TCG
 * boot: redis answered its first PING 3.3 s after QEMU started instead of 0.8 s.
 */
function baseWords(arch: TargetArch): string[] {
  return [`console=${arch.kernel.console}`, 'quiet', 'panic=-1', ...arch.kernel.bootWords, 'cryptomgr.notests', 'random.trust_cpu=on'];
}

const rootWords: Record<string, readonly string[]> = {
  ramfs: ['rdinit=/init'],
  rofs: ['root=/dev/vda', 'ro', 'rootfstype=erofs', 'init=/init'],
  ext4: ['root=/dev/vda', 'rw', 'rootfstype=ext4', 'init=/init'],
  btrfs: ['root=/dev/vda', 'rw', 'rootfstype=btrfs', 'init=/init'],
};

/** fs=virtiofs boots from an initramfs too; the share is mounted at run time (tailor run --share). */
const stubRootType: Record<string, string> = { rofs: 'erofs', ext4: 'ext4', btrfs: 'btrfs' };

/**
 * stubInitrd: the drivers are modules (stock kernel), so the root disk is
 * mounted by the init from a small initramfs: tailor.root= words instead of
 * root= (docs/guest-protocol.md, "Disk roots").
 */
export function kernelWords(fs: string, opts: { pci: boolean; btrfsCompression?: string; stubInitrd?: boolean; net?: boolean; arch?: TargetArch }): string[] {
  const compress = fs === 'btrfs' && opts.btrfsCompression && opts.btrfsCompression !== 'none' ? `compress=${opts.btrfsCompression}` : undefined;
  const words = baseWords(opts.arch ?? targetArches.x64);
  if (opts.stubInitrd && stubRootType[fs]) {
    words.push('rdinit=/init', 'tailor.root=/dev/vda', `tailor.rootfstype=${stubRootType[fs]}`, fs === 'rofs' ? 'ro' : 'rw');
    if (compress) words.push(`tailor.rootflags=${compress}`);
  } else {
    words.push(...(rootWords[fs] ?? rootWords.ramfs!));
    if (compress) words.push(`rootflags=${compress}`);
  }
  if (!opts.pci) words.push('pci=off');
  // The image needs the network (kernel feature net): the init treats a missing eth0 as an error.
  if (opts.net) words.push('tailor.net=1');
  return words;
}

/** Kernel features each root filesystem needs (names from src/kernel/features.ts). */
export const rootfsNeeds: Readonly<Record<string, readonly string[]>> = {
  ramfs: [],
  rofs: ['block', 'virtio-blk', 'erofs'],
  ext4: ['block', 'virtio-blk', 'ext4'],
  btrfs: ['block', 'virtio-blk', 'btrfs'],
  // virtiofs where the host has a virtiofsd, else virtio-9p: the image can mount both (chosen at run time)
  virtiofs: ['9p', 'virtiofs'],
};
