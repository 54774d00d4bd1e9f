/**
 * The images as a real Linux kernel sees them: Debian's kernel boots in QEMU
 * (TCG is fine) with an initramfs from our cpio writer, whose /init (busybox)
 * loads the file-system modules, mounts the image on a virtio disk and
 * prints every entry (mode, size, device numbers, symlink target, sha256)
 * on the console; the host compares that with the tree. Each boot uses a
 * different initramfs compression, so all five reach the kernel's unpacker.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { prepareStockKernel } from '../../src/kernel/stock.ts';
import type { KernelArtifact } from '../../src/kernel/types.ts';
import { writeRootfs } from '../../src/rootfs/index.ts';
import type { ContentTree, RamfsCompression, TreeEntry } from '../../src/rootfs/types.ts';
import { makeFixture, scratch, type Expected, type Fixture } from '../unit/rootfs-fixture.ts';

const BUSYBOX = '/bin/busybox';
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const staticBusybox = has('file') && /statically linked/.test(spawnSync('file', ['-L', BUSYBOX], { encoding: 'utf8' }).stdout ?? '');
const skipReason = !has('qemu-system-x86_64')
  ? 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)'
  : !staticBusybox
    ? 'a static /bin/busybox is needed for the test init (apt-get install busybox-static)'
    : false;

/** The test init: load modules, mount the image (or use the initramfs itself), list it, exercise writes, reboot. */
const INIT = `#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mkdir -p /devtmp && mount -t devtmpfs dev /devtmp
for m in $(cat /kmod/order); do
  insmod /kmod/$m.ko || echo "TAILOR-T insmod-failed $m"
done
FS=$(cat /test/fs)
ROOT=/
if [ "$FS" != ramfs ]; then
  i=0; while [ ! -b /devtmp/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  mount -t "$FS" /devtmp/vda /mnt && echo "TAILOR-T mounted" || { echo "TAILOR-T mount-failed"; ls /sys/bus/virtio/devices /sys/block /sys/bus/platform/devices; dmesg | tail -30; }
  ROOT=/mnt
fi
cd $ROOT
find . -xdev | sort | while read -r p; do
  echo "TAILOR-E|$p|$(stat -c '%f|%s|%t|%T' "$p")"
  [ -L "$p" ] && echo "TAILOR-L|$p|$(readlink "$p")"
  [ -f "$p" ] && [ ! -L "$p" ] && echo "TAILOR-H|$p|$(sha256sum < "$p" | cut -d' ' -f1)"
done
cd /
if [ "$FS" = erofs ]; then
  if touch /mnt/new-file 2>/tmp/err; then echo "TAILOR-T ro-write-succeeded"; else echo "TAILOR-T ro-write-refused $(cat /tmp/err)"; fi
elif [ "$FS" != ramfs ]; then
  echo persisted > /mnt/written-in-guest && sync && echo "TAILOR-T wrote"
fi
[ "$FS" != ramfs ] && umount /mnt
echo "TAILOR-T done"
reboot -f
`;

interface GuestView {
  readonly entries: Map<string, { mode: number; size: number; major: number; minor: number; target?: string; sha256?: string }>;
  readonly notes: string[];
  readonly console: string;
}

function parseConsole(text: string): GuestView {
  const entries: GuestView['entries'] = new Map();
  const notes: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const at = line.indexOf('TAILOR-');
    if (at < 0) continue;
    const [tag, path, ...rest] = line.slice(at).split('|');
    const p = path?.replace(/^\.\/?/, '') ?? '';
    if (tag === 'TAILOR-E' && rest.length === 4) {
      entries.set(p, { mode: Number.parseInt(rest[0]!, 16), size: Number(rest[1]), major: Number.parseInt(rest[2]!, 16), minor: Number.parseInt(rest[3]!, 16) });
    } else if (tag === 'TAILOR-L') entries.get(p)!.target = rest.join('|');
    else if (tag === 'TAILOR-H') entries.get(p)!.sha256 = rest[0];
    else if (line.slice(at).startsWith('TAILOR-T ')) notes.push(line.slice(at + 'TAILOR-T '.length));
  }
  return { entries, notes, console: text };
}

const typeBits: Record<Expected['type'], number> = { dir: 0o040000, file: 0o100000, symlink: 0o120000, chardev: 0o020000 };

/** Every expected entry is seen by the kernel with its type, mode, size, content, target, device numbers. */
function assertGuestSees(view: GuestView, expected: Map<string, Expected>, what: string): void {
  for (const [p, e] of expected) {
    const g = view.entries.get(p);
    assert.ok(g, `${what}: the guest sees /${p}\n${view.console.slice(-3000)}`);
    assert.equal(g.mode & 0o170000, typeBits[e.type], `${what}: type of /${p}`);
    if (e.mode !== undefined) assert.equal((g.mode & 0o7777).toString(8), e.mode.toString(8), `${what}: mode of /${p}`);
    if (e.type === 'file') {
      assert.equal(g.size, e.size, `${what}: size of /${p}`);
      assert.equal(g.sha256, e.sha256, `${what}: content of /${p}`);
    }
    if (e.type === 'symlink') assert.equal(g.target, e.target, `${what}: target of /${p}`);
    if (e.type === 'chardev') assert.deepEqual([g.major, g.minor], [...e.rdev!], `${what}: device numbers of /${p}`);
  }
}

let fx: Fixture;
let out: string;
let kernel: KernelArtifact;

before(async () => {
  if (skipReason) return;
  fx = await makeFixture();
  out = await scratch('rootfs-kernel');
  kernel = await prepareStockKernel(['virtio-blk', 'erofs', 'ext4', 'btrfs'], { mmio: false, pci: true });
});
after(async () => {
  await fx?.cleanup();
  if (out) await rm(out, { recursive: true, force: true });
});

/** The initramfs: busybox, the modules in load order, the test init; plus `extra` (the fixture for fs=ramfs). */
function loaderTree(fs: string, extra: readonly TreeEntry[]): ContentTree {
  const text = (s: string) => new TextEncoder().encode(s);
  const names = kernel.modules.map((m) => m.guestPath.replace(/^.*\//, '').replace(/\.ko$/, ''));
  const applets = ['sh', 'mount', 'umount', 'mkdir', 'cat', 'insmod', 'sleep', 'find', 'sort', 'stat', 'readlink', 'sha256sum', 'cut', 'touch', 'sync', 'reboot', 'ls', 'dmesg', 'tail'];
  return {
    entries: [
      { kind: 'file', path: '/bin/busybox', mode: 0o755, source: BUSYBOX },
      ...applets.map((a): TreeEntry => ({ kind: 'symlink', path: `/bin/${a}`, target: 'busybox' })),
      { kind: 'data', path: '/init', mode: 0o755, data: text(INIT) },
      { kind: 'chardev', path: '/dev/console', mode: 0o600, major: 5, minor: 1 },
      { kind: 'dir', path: '/proc', mode: 0o555 },
      { kind: 'dir', path: '/sys', mode: 0o555 },
      { kind: 'dir', path: '/mnt', mode: 0o755 },
      { kind: 'dir', path: '/tmp', mode: 0o1777 },
      { kind: 'data', path: '/test/fs', mode: 0o644, data: text(`${fs}\n`) },
      { kind: 'data', path: '/kmod/order', mode: 0o644, data: text(`${names.join('\n')}\n`) },
      ...kernel.modules.map((m, i): TreeEntry => ({ kind: 'file', path: `/kmod/${names[i]}.ko`, mode: 0o644, source: m.source })),
      ...extra,
    ],
  };
}

function boot(initrd: string, disk?: string): GuestView {
  const append = 'console=ttyS0 panic=-1 reboot=t rdinit=/init quiet 8250.nr_uarts=1 tsc=reliable no_timer_check cryptomgr.notests i8042.noaux i8042.nokbd';
  // q35 and virtio-pci: Debian's kernel has no VIRTIO_MMIO_CMDLINE_DEVICES, and microvm's ACPI tables hang it
  // at TSC calibration under TCG, so microvm cannot give it a disk here.
  const args = [
    '-M', 'q35', '-accel', 'tcg', '-cpu', 'max', '-m', '256M', '-smp', '1',
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot', '-serial', 'stdio',
    '-kernel', kernel.vmlinux ?? kernel.bzImage, '-initrd', initrd, '-append', append,
    ...(disk ? ['-drive', `id=root,file=${disk},if=none,format=raw`, '-device', 'virtio-blk-pci,drive=root'] : []),
  ];
  const r = spawnSync('qemu-system-x86_64', args, { encoding: 'utf8', timeout: 90_000, maxBuffer: 1 << 26 });
  const view = parseConsole(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  assert.ok(view.notes.includes('done'), `the guest finished its checks (QEMU status ${r.status}, signal ${r.signal})\n${view.console.slice(-4000)}`);
  assert.deepEqual(view.notes.filter((n) => n.startsWith('insmod-failed')), [], 'every module loaded');
  return view;
}

const diskCases: { fs: 'rofs' | 'ext4' | 'btrfs'; kernelFs: string; initrd: RamfsCompression }[] = [
  { fs: 'rofs', kernelFs: 'erofs', initrd: 'lz4' },
  { fs: 'ext4', kernelFs: 'ext4', initrd: 'zstd' },
  { fs: 'btrfs', kernelFs: 'btrfs', initrd: 'xz' },
];

describe('images seen by a real Linux kernel (Debian stock, QEMU)', { skip: skipReason }, () => {
  for (const c of ['none', 'gzip'] as const) {
    test(`fs=ramfs, ${c} initramfs: the kernel unpacks every entry as written`, { timeout: 180_000 }, async () => {
      const initrd = join(out, `ramfs-${c}.img`);
      await writeRootfs(loaderTree('ramfs', fx.tree.entries), initrd, { fs: 'ramfs', compression: c, seed: 's' });
      const view = boot(initrd);
      assertGuestSees(view, fx.expected, `ramfs/${c}`);
    });
  }

  for (const { fs, kernelFs, initrd: compression } of diskCases) {
    test(`fs=${fs}: Linux mounts the image and sees exactly the tree (initramfs ${compression})`, { timeout: 180_000 }, async () => {
      const disk = join(out, `root.${fs}`);
      const written = await writeRootfs(fx.tree, disk, { fs, compression: fs === 'btrfs' ? 'zstd' : fs === 'rofs' ? 'lz4hc' : 'none', seed: 's' });
      // btrfs-progs 6.2 cannot store device numbers: the node is left out, and said so.
      const expected = new Map(fx.expected);
      if (fs === 'btrfs') {
        assert.deepEqual(written.droppedDevices, ['/dev/console']);
        expected.delete('dev/console');
      }
      const initrd = join(out, `loader-${fs}.img`);
      await writeRootfs(loaderTree(kernelFs, []), initrd, { fs: 'ramfs', compression, seed: 's' });
      const view = boot(initrd, disk);
      assert.ok(view.notes.includes('mounted'), `mounted\n${view.console.slice(-3000)}`);
      assertGuestSees(view, expected, fs);
      const extra = [...view.entries.keys()].filter((p) => p !== '' && !expected.has(p) && p !== 'lost+found' && !p.startsWith('lost+found/'));
      assert.deepEqual(extra, [], `no paths beyond the tree on fs=${fs}`);
      if (fs === 'rofs') {
        assert.ok(view.notes.some((n) => n.startsWith('ro-write-refused') && /Read-only file system/i.test(n)), view.notes.join('\n'));
      } else {
        assert.ok(view.notes.includes('wrote'), view.notes.join('\n'));
        const check = fs === 'ext4' ? spawnSync('e2fsck', ['-fn', disk], { encoding: 'utf8' }) : spawnSync('btrfs', ['check', disk], { encoding: 'utf8' });
        assert.equal(check.status, 0, `the file system is clean after the guest wrote to it:\n${check.stdout}${check.stderr}`);
        if (fs === 'ext4') {
          assert.equal(spawnSync('debugfs', ['-R', 'cat /written-in-guest', disk], { encoding: 'utf8' }).stdout, 'persisted\n');
        }
      }
    });
  }
});
