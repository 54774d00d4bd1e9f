/**
 * Disk roots (rofs/ext4/btrfs) on a kernel whose block and file-system
 * drivers are modules (Debian's stock kernel): the kernel cannot mount
 * root= by itself, so the build writes a small initramfs beside the root
 * disk holding the init, the modules and /etc/tailor/modules. The init
 * loads them, mounts the disk named by tailor.root= and switches to it
 * (guest/init/rootswitch.c, docs/guest-protocol.md "Disk roots").
 */
import type { KernelArtifact } from '../kernel/types.ts';
import type { ContentTree, TreeEntry } from '../rootfs/types.ts';

/** A disk root needs the stub when the kernel has modules to load (a custom kernel has its drivers built in). */
export function needsStubInitrd(fs: string, kernel: KernelArtifact): boolean {
  return fs !== 'ramfs' && kernel.modules.length > 0;
}

const text = (s: string) => new TextEncoder().encode(s);

/**
 * Splits the image tree: the stub initramfs gets the init, the module files
 * and the module list; the root disk keeps everything else, with an empty
 * module list (they are loaded once, before the switch).
 */
export function splitForStub(tree: ContentTree, kernel: KernelArtifact): { stub: ContentTree; root: ContentTree } {
  const modulePaths = new Set(kernel.modules.map((m) => m.guestPath));
  const init = tree.entries.find((e) => e.path === '/init');
  if (!init) throw new Error('image tree without /init');
  const list = text(kernel.modules.map((m) => `${m.guestPath}\n`).join(''));
  const stub: TreeEntry[] = [
    { kind: 'dir', path: '/dev', mode: 0o755 },
    { kind: 'chardev', path: '/dev/console', mode: 0o600, major: 5, minor: 1 },
    { kind: 'dir', path: '/proc', mode: 0o555 },
    { kind: 'dir', path: '/sys', mode: 0o555 },
    { kind: 'dir', path: '/newroot', mode: 0o755 },
    { kind: 'dir', path: '/etc/tailor', mode: 0o755 },
    { kind: 'data', path: '/etc/tailor/modules', mode: 0o644, data: list },
    init,
    ...tree.entries.filter((e) => modulePaths.has(e.path)),
  ];
  const root = tree.entries
    .filter((e) => !modulePaths.has(e.path))
    .map((e): TreeEntry => (e.path === '/etc/tailor/modules' ? { kind: 'data', path: e.path, mode: 0o644, data: text('') } : e));
  return { stub: { entries: stub }, root: { entries: root } };
}
