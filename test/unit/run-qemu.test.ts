// QEMU command construction from a build record: machine, kernel form, disks, command line, validation.
import { test } from 'node:test';
import { valueAfter } from './qemu-args.ts';
import assert from 'node:assert/strict';
import { buildQemuCommand, kernelCommandLine, shellQuote, type QemuPlan } from '../../src/run/qemu.ts';
import { UsageError } from '../../src/errors.ts';
import type { BuildRecord } from '../../src/image/types.ts';
import { hostTscRate } from '../../src/run/host-tsc.ts';
import { cacheDir } from '../../src/util/paths.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const art = (file: string) => ({ file, bytes: 1, sha256: 'x' });

function record(over: Partial<BuildRecord> = {}, kernel: Partial<BuildRecord['kernel']> = {}): BuildRecord {
  return {
    formatVersion: 1,
    name: 'hello',
    configHash: 'h',
    options: {},
    modules: ['native-example'],
    kernel: {
      flavour: 'stock',
      release: '6.1.0-56-amd64',
      packageVersion: '6.1.192-2',
      bzImage: art('bzImage'),
      vmlinux: art('vmlinux'),
      hasVirtioMmio: true,
      hasPci: true,
      hasAcpi: true,
      ...kernel,
    },
    initrd: { ...art('initrd.gz'), compression: 'gzip' },
    kernelCmdline: 'console=ttyS0 quiet reboot=t rdinit=/init',
    appCmdline: '/hello',
    builtAt: '1970-01-01T00:00:00Z',
    ...over,
  };
}

const microTcg: QemuPlan = { hypervisor: 'qemu_microvm', accel: 'tcg', memoryMiB: 128, cpus: 1 };


test('microvm under TCG keeps PIT/PIC/RTC, boots the PVH vmlinux with the initrd', () => {
  const c = buildQemuCommand('/b', record(), microTcg);
  assert.equal(c.binary, 'qemu-system-x86_64');
  assert.equal(valueAfter(c.args, '-M'), 'microvm,x-option-roms=off,isa-serial=on,acpi=off');
  assert.equal(valueAfter(c.args, '-accel'), 'tcg');
  assert.equal(valueAfter(c.args, '-cpu'), 'max');
  assert.equal(valueAfter(c.args, '-kernel'), '/b/vmlinux');
  assert.equal(c.kernelForm, 'pvh-vmlinux');
  assert.equal(valueAfter(c.args, '-initrd'), '/b/initrd.gz');
  assert.equal(valueAfter(c.args, '-m'), '128M');
  assert.equal(valueAfter(c.args, '-smp'), '1');
  for (const f of ['-nodefaults', '-no-user-config', '-nographic', '-no-reboot']) assert.ok(c.args.includes(f), f);
  assert.equal(valueAfter(c.args, '-serial'), 'stdio');
  assert.ok(!c.args.includes('-drive'));
});

test('microvm under KVM turns the legacy timers off and uses the host CPU without arch-capabilities', () => {
  const c = buildQemuCommand('/b', record(), { ...microTcg, accel: 'kvm' });
  assert.equal(valueAfter(c.args, '-M'), 'microvm,x-option-roms=off,isa-serial=on,acpi=off,pit=off,pic=off,rtc=off');
  assert.equal(valueAfter(c.args, '-accel'), 'kvm');
  assert.equal(valueAfter(c.args, '-cpu'), 'host,-arch-capabilities');
});

test('qemu means q35; bzImage when there is no vmlinux or when asked for', () => {
  const q = buildQemuCommand('/b', record({}, { vmlinux: undefined }), { ...microTcg, hypervisor: 'qemu' });
  assert.equal(valueAfter(q.args, '-M'), 'q35');
  assert.equal(valueAfter(q.args, '-kernel'), '/b/bzImage');
  assert.equal(q.kernelForm, 'bzImage');
  const forced = buildQemuCommand('/b', record(), { ...microTcg, kernelForm: 'bzImage' });
  assert.equal(valueAfter(forced.args, '-kernel'), '/b/bzImage');
});

test('a root disk is virtio-blk-device on microvm and virtio-blk-pci on q35, read-only when the build says so', () => {
  const r = record({ initrd: undefined, rootDisk: { ...art('root.erofs'), fs: 'rofs', readOnly: true } });
  const m = buildQemuCommand('/b', r, microTcg);
  assert.equal(valueAfter(m.args, '-drive'), 'id=root,file=/b/root.erofs,if=none,format=raw,readonly=on');
  assert.equal(valueAfter(m.args, '-device'), 'virtio-blk-device,drive=root');
  assert.ok(!m.args.includes('-initrd'));
  const rw = record({ initrd: undefined, rootDisk: { ...art('root.ext4'), fs: 'ext4', readOnly: false } });
  const q = buildQemuCommand('/b', rw, { ...microTcg, hypervisor: 'qemu' });
  assert.equal(valueAfter(q.args, '-drive'), 'id=root,file=/b/root.ext4,if=none,format=raw,readonly=off');
  assert.equal(valueAfter(q.args, '-device'), 'virtio-blk-pci,drive=root');
});

test('command line: build words + machine words + " -- " + (execute ?? appCmdline)', () => {
  // Under TCG an x86-64 guest is told the host's TSC rate (src/run/host-tsc.ts), after the build's words.
  const rate = hostTscRate();
  const tsc = rate ? ` tsc_early_khz=${rate.khz}` : '';
  assert.equal(kernelCommandLine(record(), microTcg), `console=ttyS0 quiet reboot=t rdinit=/init${tsc} pci=off noapictimer -- /hello`);
  assert.equal(
    kernelCommandLine(record(), { ...microTcg, execute: '/hello; false' }),
    `console=ttyS0 quiet reboot=t rdinit=/init${tsc} pci=off noapictimer -- /hello; false`,
  );
  // No PCI on microvm: pci=off is added once; on q35 with a disk on PCI it is removed.
  assert.equal(kernelCommandLine(record({ kernelCmdline: 'a pci=off' }), microTcg), `a pci=off${tsc} noapictimer -- /hello`);
  const disk = record({ kernelCmdline: 'a pci=off b', initrd: undefined, rootDisk: { ...art('r'), fs: 'ext4', readOnly: false } });
  assert.equal(kernelCommandLine(disk, { ...microTcg, hypervisor: 'qemu' }), `a b${tsc} noapictimer -- /hello`);
  // Without a disk q35 keeps the build's words as they are.
  assert.equal(kernelCommandLine(record({ kernelCmdline: 'a pci=off' }), { ...microTcg, hypervisor: 'qemu' }), `a pci=off${tsc} noapictimer -- /hello`);
  // Nothing to run: no " -- ", the init reads /etc/tailor/cmdline.
  assert.equal(kernelCommandLine(record({ appCmdline: '' }), microTcg), `console=ttyS0 quiet reboot=t rdinit=/init${tsc} pci=off noapictimer`);
  // TCG only: the APIC timer stays on under KVM, and KVM's guest gets the TSC rate from kvm-clock.
  assert.equal(kernelCommandLine(record(), { ...microTcg, accel: 'kvm' }), 'console=ttyS0 quiet reboot=t rdinit=/init pci=off -- /hello');
  const c = buildQemuCommand('/b', record(), { ...microTcg, execute: 'x' });
  assert.equal(c.args.at(-2), '-append');
  assert.equal(c.args.at(-1), c.cmdline);
});

test('the host TSC rate: measured by the C helper on an x86-64 host, plausible, kept for this host boot', (t) => {
  if (process.arch !== 'x64') return t.skip(`the host is ${process.arch}: an x86-64 guest's TCG time stamp counter is not its own there`);
  const rate = hostTscRate();
  assert.ok(rate, 'a rate on an x86-64 host');
  assert.ok(rate.khz > 100_000 && rate.khz < 10_000_000, `${rate.khz} kHz`);
  if (rate.how === 'measured') assert.match(readFileSync(cacheDir('host-tsc.json'), 'utf8'), new RegExp(`"khz":${rate.khz}`));
  assert.equal(hostTscRate(), rate, 'asked once per process');
});

test('impossible combinations are UsageErrors that name the fix', () => {
  const disk = { initrd: undefined, rootDisk: { ...art('r'), fs: 'rofs', readOnly: true } };
  assert.throws(
    () => buildQemuCommand('/b', record(disk, { hasVirtioMmio: false }), microTcg),
    (e: unknown) => e instanceof UsageError && /virtio-mmio/.test(e.message) && /-p qemu/.test(e.hint ?? ''),
  );
  assert.throws(
    () => buildQemuCommand('/b', record(disk, { hasPci: false }), { ...microTcg, hypervisor: 'qemu' }),
    (e: unknown) => e instanceof UsageError && /PCI/.test(e.message) && /qemu_microvm/.test(e.hint ?? ''),
  );
  // A ramfs image needs no virtio transport at all.
  assert.doesNotThrow(() => buildQemuCommand('/b', record({}, { hasVirtioMmio: false }), microTcg));
  assert.throws(() => buildQemuCommand('/b', record(), { ...microTcg, memoryMiB: 8 }), UsageError);
  assert.throws(() => buildQemuCommand('/b', record(), { ...microTcg, cpus: 0 }), UsageError);
});

test('shellQuote gives a line sh reads back into the same words', async () => {
  const { exec } = await import('../../src/util/exec.ts');
  const words = ['qemu', '-append', "console=ttyS0 -- /hello 'x' \"y\"; false & $HOME", 'plain,a=b'];
  const r = await exec('sh', ['-c', `for w in ${shellQuote(words)}; do printf '%s\\n' "$w"; done`]);
  assert.deepEqual(r.stdout.split('\n').slice(0, -1), words);
});

test('a run-time disk on a kernel without virtio-blk is refused naming the rebuild; with the driver, or unknown (old records), it is attached', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-noblk-'));
  const data = join(dir, 'data.img');
  writeFileSync(data, Buffer.alloc(4096));
  const noBlk = record({ profile: 'minimal' }, { hasVirtioBlk: false });
  assert.throws(() => buildQemuCommand('/b', noBlk, { ...microTcg, storage: { extraDisks: [data] } }),
    (e: unknown) => e instanceof UsageError && /--second-disk-image: build \S+'s kernel has no virtio-blk driver.*--profile=minimal leaves the driver out/.test(e.message) && /conf_drivers_virtio_blk=1/.test(e.hint ?? ''));
  assert.throws(() => buildQemuCommand('/b', noBlk, { ...microTcg, storage: { diskImage: data } }), (e: unknown) => e instanceof UsageError && /^--disk-image: /.test(e.message));
  assert.doesNotThrow(() => buildQemuCommand('/b', noBlk, microTcg), 'no disk asked for: nothing to refuse');
  for (const k of [{ hasVirtioBlk: true }, {}]) {
    assert.match(buildQemuCommand('/b', record({}, k), { ...microTcg, storage: { extraDisks: [data] } }).args.join(' '), /virtio-blk-device,drive=disk1/);
  }
  rmSync(dir, { recursive: true, force: true });
});
