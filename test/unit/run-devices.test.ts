// Disks, NVMe and 9p shares on the QEMU command line; microvm ACPI for kernels without
// virtio_mmio.device= support; long -e lines as one encoded word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQemuCommand, kernelCommandLine, type QemuPlan } from '../../src/run/qemu.ts';
import { parseShare, storageArgs } from '../../src/run/devices.ts';
import { appCmdlineWord, encodeAppCmdline, kernelWordCount } from '../../src/run/app-cmdline.ts';
import { UsageError } from '../../src/errors.ts';
import type { BuildRecord } from '../../src/image/types.ts';

const art = (file: string) => ({ file, bytes: 1, sha256: 'x' });
const dir = mkdtempSync(join(tmpdir(), 'tailor-devices-'));
const data = join(dir, 'data.img');
writeFileSync(data, Buffer.alloc(4096));

function record(kernel: Partial<BuildRecord['kernel']> = {}, over: Partial<BuildRecord> = {}): BuildRecord {
  return {
    formatVersion: 1, name: 'r', configHash: 'h', options: {}, modules: [],
    kernel: { flavour: 'stock', release: 'r', packageVersion: 'v', bzImage: art('bzImage'), vmlinux: art('vmlinux'), hasVirtioMmio: true, hasPci: true, hasAcpi: true, ...kernel },
    initrd: { ...art('initrd.img'), compression: 'gzip' },
    rootDisk: { ...art('root.erofs'), fs: 'rofs', readOnly: true },
    kernelCmdline: 'console=ttyS0 rdinit=/init tailor.root=/dev/vda',
    appCmdline: '/hello',
    builtAt: 'x',
    ...over,
  };
}
const micro: QemuPlan = { hypervisor: 'qemu_microvm', accel: 'tcg', memoryMiB: 128, cpus: 1 };

test('root first (/dev/vda, read-only for rofs), then --second-disk-image disks; virtio-mmio on microvm, PCI on q35', () => {
  const m = storageArgs('mmio', { file: '/b/root.erofs', readOnly: true }, { extraDisks: [data] });
  assert.deepEqual(m, [
    '-drive', 'id=root,file=/b/root.erofs,if=none,format=raw,readonly=on', '-device', 'virtio-blk-device,drive=root',
    '-drive', `id=disk1,file=${data},if=none,format=raw,readonly=off`, '-device', 'virtio-blk-device,drive=disk1',
  ]);
  const q = storageArgs('pci', undefined, { diskImage: data });
  assert.deepEqual(q, ['-drive', `id=root,file=${data},if=none,format=raw,readonly=off`, '-device', 'virtio-blk-pci,drive=root']);
});

test('NVMe: q35 only, with the queue count; a missing disk file names the fix', () => {
  assert.deepEqual(storageArgs('pci', undefined, { nvmeImage: data, nvmeQueues: 4 }).slice(-2), ['-device', 'nvme,drive=nvme0,serial=tailor-nvme0,max_ioqpairs=4']);
  assert.throws(() => storageArgs('mmio', undefined, { nvmeImage: data }), (e: unknown) => e instanceof UsageError && /needs PCI/.test(e.message) && /-p qemu/.test(e.hint ?? ''));
  assert.throws(() => storageArgs('pci', undefined, { extraDisks: [join(dir, 'nope.img')] }), /no file at .*nope\.img/);
});

test('shares: parsed from HOSTDIR:TAG[:GUESTPATH], 9p device per machine, mounted by the init before the command line', () => {
  assert.deepEqual(parseShare(`${dir}:src:/src`), { hostDir: dir, tag: 'src', guestPath: '/src' });
  assert.deepEqual(parseShare(`${dir}:src`), { hostDir: dir, tag: 'src' });
  assert.throws(() => parseShare(`${dir}:bad tag`), /HOSTDIR:TAG/);
  assert.throws(() => parseShare('/no/such/dir:t'), /not a folder/);
  const rec = record({}, { hostShares: ['9p'], rootDisk: undefined });
  const plan = { ...micro, storage: { shares: [parseShare(`${dir}:src:/src`)] } };
  const cmd = buildQemuCommand('/b', rec, plan);
  assert.ok(cmd.args.includes('virtio-9p-device,fsdev=share0,mount_tag=src'), cmd.args.join(' '));
  assert.match(cmd.cmdline, / -- --mount-fs=9p,src,\/src \/hello$/);
  assert.throws(() => buildQemuCommand('/b', record({}, { rootDisk: undefined }), plan), /cannot mount 9p host shares/);
});

test('virtiofs shares: vhost-user-fs on the daemon sockets, guest RAM in a shared memfd, modern virtio-mmio', () => {
  const rec = record({}, { hostShares: ['9p', 'virtiofs'], rootDisk: undefined });
  const storage = { shares: [parseShare(`${dir}:src:/src`)], shareTransport: 'virtiofs' as const, shareSockets: ['/run/s0.sock'] };
  const cmd = buildQemuCommand('/b', rec, { ...micro, storage });
  const a = cmd.args.join(' ');
  assert.match(cmd.args[1]!, /,memory-backend=mem$/);
  assert.match(a, /-object memory-backend-memfd,id=mem,size=128M,share=on/);
  assert.match(a, /-global virtio-mmio.force-legacy=false/);
  assert.match(a, /-chardev socket,id=vfs0,path=\/run\/s0.sock -device vhost-user-fs-device,chardev=vfs0,tag=src/);
  assert.match(cmd.cmdline, / -- --mount-fs=virtiofs,src,\/src \/hello$/);
  const q = buildQemuCommand('/b', rec, { ...micro, hypervisor: 'qemu', storage }).args.join(' ');
  assert.match(q, /-M q35,memory-backend=mem .*vhost-user-fs-pci,chardev=vfs0,tag=src/);
  assert.doesNotMatch(q, /force-legacy/);
  assert.throws(() => buildQemuCommand('/b', record({}, { hostShares: ['9p'], rootDisk: undefined }), { ...micro, storage }), /cannot mount virtiofs host shares/);
});

test('microvm gets ACPI (and the TSC rate under TCG) only when the kernel ignores virtio_mmio.device= and has devices', () => {
  const stock = record({ virtioMmioCmdline: false });
  const cmd = buildQemuCommand('/b', stock, micro);
  assert.match(cmd.args[1]!, /acpi=on/);
  assert.match(cmd.cmdline, / tsc_early_khz=\d+ /);
  // microvm with ACPI declares no PIT: the APIC timer is the only tick there, so no noapictimer
  assert.doesNotMatch(cmd.cmdline, /noapictimer/);
  assert.match(buildQemuCommand('/b', record({ virtioMmioCmdline: true }), micro).cmdline, / noapictimer /);
  assert.match(buildQemuCommand('/b', stock, { ...micro, accel: 'kvm' }).args[1]!, /acpi=on/);
  assert.doesNotMatch(buildQemuCommand('/b', stock, { ...micro, accel: 'kvm' }).cmdline, /tsc_early_khz/);
  assert.match(buildQemuCommand('/b', record({ virtioMmioCmdline: true }), micro).args[1]!, /acpi=off/);
  assert.match(buildQemuCommand('/b', record({ virtioMmioCmdline: false }, { rootDisk: undefined }), micro).args[1]!, /acpi=off/);
  // q35 never needs it
  assert.equal(buildQemuCommand('/b', stock, { ...micro, hypervisor: 'qemu' }).args[1], 'q35');
});

test('long -e lines go as one %XX word after " -- "; short ones as they are', () => {
  assert.equal(kernelWordCount('a "b c" d'), 3);
  assert.equal(encodeAppCmdline('/echo "100% x"\n'), '%:/echo%20%22100%25%20x%22%0A');
  assert.equal(appCmdlineWord('/hello; false'), '/hello; false');
  assert.equal(appCmdlineWord('%:literal'), '%:%25:literal');
  const long = `/bin/echo ${Array.from({ length: 59 }, (_, i) => `w${i}`).join(' ')}`;
  const line = kernelCommandLine(record(), { ...micro, execute: long });
  const after = line.slice(line.indexOf(' -- ') + 4);
  assert.equal(kernelWordCount(after), 1);
  assert.equal(decodeURIComponent(after.slice(2)), long);
});
