// Firecracker's configuration from a build record (tailor run -p firecracker --dry-run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firecrackerBootArgs, firecrackerConfig } from '../../src/run/firecracker.ts';
import { TailorError, UsageError } from '../../src/errors.ts';
import type { BuildRecord } from '../../src/image/types.ts';

const art = (file: string) => ({ file, bytes: 1, sha256: 'x' });
const base: BuildRecord = {
  formatVersion: 1, name: 'hello', configHash: 'h', options: {}, modules: [],
  kernel: { flavour: 'stock', release: 'r', packageVersion: 'v', bzImage: art('bzImage'), vmlinux: art('vmlinux'), hasVirtioMmio: true, hasPci: true, hasAcpi: true },
  initrd: { ...art('initrd.img'), compression: 'gzip' },
  kernelCmdline: 'console=ttyS0 quiet reboot=t rdinit=/init',
  appCmdline: '/hello',
  builtAt: '1970-01-01T00:00:00Z',
};

test('boot args: keyboard-controller reboot, no PCI, then the application', () => {
  assert.equal(firecrackerBootArgs(base, { memoryMiB: 128, cpus: 1 }), 'console=ttyS0 quiet rdinit=/init reboot=k pci=off -- /hello');
  assert.equal(firecrackerBootArgs(base, { memoryMiB: 128, cpus: 1, execute: 'x; y' }), 'console=ttyS0 quiet rdinit=/init reboot=k pci=off -- x; y');
});

test('config: vmlinux, initrd, machine; a root disk becomes a non-root drive (root= is on the command line)', () => {
  assert.deepEqual(firecrackerConfig('/b', base, { memoryMiB: 256, cpus: 2 }), {
    'boot-source': { kernel_image_path: '/b/vmlinux', boot_args: firecrackerBootArgs(base, { memoryMiB: 256, cpus: 2 }), initrd_path: '/b/initrd.img' },
    drives: [],
    'machine-config': { vcpu_count: 2, mem_size_mib: 256, smt: false },
  });
  const disk: BuildRecord = { ...base, initrd: undefined, rootDisk: { ...art('root.erofs'), fs: 'rofs', readOnly: true } };
  const c = firecrackerConfig('/b', disk, { memoryMiB: 128, cpus: 1 });
  assert.deepEqual(c.drives, [{ drive_id: 'root', path_on_host: '/b/root.erofs', is_root_device: false, is_read_only: true }]);
  assert.equal('initrd_path' in (c['boot-source'] as object), false);
});

test('no vmlinux, or a disk without virtio-mmio, is refused with the fix', () => {
  const noVmlinux = { ...base, kernel: { ...base.kernel, vmlinux: undefined } };
  assert.throws(() => firecrackerConfig('/b', noVmlinux, { memoryMiB: 128, cpus: 1 }), (e: unknown) => e instanceof TailorError && /vmlinux/.test(e.message));
  const noMmio: BuildRecord = { ...base, initrd: undefined, rootDisk: { ...art('r'), fs: 'ext4', readOnly: false }, kernel: { ...base.kernel, hasVirtioMmio: false } };
  assert.throws(() => firecrackerConfig('/b', noMmio, { memoryMiB: 128, cpus: 1 }), UsageError);
});
