// arch=aarch64 (src/config/arch.ts): the one description the kernel, image and run stages read,
// the arm64 custom-kernel fragment, the QEMU command for an arm64 build and the image's ELF check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fragmentIn, reasons, tempProject, value } from './fragment-support.ts';
import { valueAfter } from './qemu-args.ts';
import { targetArch, targetArches } from '../../src/config/arch.ts';
import { UsageError, TailorError } from '../../src/errors.ts';
import { describeFragment, fragmentText } from '../../src/kernel/custom/fragment.ts';
import { baseFragment, baseFragmentFor } from '../../src/kernel/custom/base.ts';
import { buildQemuCommand, kernelCommandLine, type QemuPlan } from '../../src/run/qemu.ts';
import { kernelWords } from '../../src/image/boot-args.ts';
import { checkImageArch, elfMachineOf } from '../../src/image/arch-check.ts';
import { parseMetaPackageRecord } from '../../src/kernel/stock.ts';
import type { BuildRecord } from '../../src/image/types.ts';

const cwd = tempProject('arm64');
const fragmentFor = (...args: string[]) => fragmentIn(cwd, ...args);

test('the architecture table: every field a stage reads is set for both targets, and an unknown name is a UsageError', () => {
  for (const a of Object.values(targetArches)) {
    assert.ok(a.qemu.binary.startsWith('qemu-system-'), a.name);
    assert.ok(a.kernel.imagePath.endsWith(a.kernel.imageTarget), `${a.name}: the image path ends in the make target`);
    assert.match(a.kernel.console, /^tty/);
    assert.ok(a.guest.cc && a.guest.ccPackage && a.debianArch, a.name);
  }
  assert.equal(targetArch(undefined).name, 'x64', 'records written before arch= existed are x86-64');
  const arm = targetArch('aarch64');
  assert.deepEqual([arm.qemu.binary, arm.qemu.machine, arm.kernel.srcArch, arm.kernel.crossCompile, arm.kernel.console, arm.debianArch],
    ['qemu-system-aarch64', 'virt', 'arm64', 'aarch64-linux-gnu-', 'ttyAMA0', 'arm64']);
  assert.throws(() => targetArch('riscv64'), (e: unknown) => e instanceof UsageError && /riscv64/.test(e.message) && /x64, aarch64/.test(e.hint ?? ''));
});

test('arm64 fragment: PL011 console, Firecracker\'s 16550 console, PSCI, ARCH=arm64 CROSS_COMPILE in the make variables; no x86 lines, no kernel compression', () => {
  const f = fragmentFor('arch=aarch64', '--profile=minimal', 'image=native-example');
  for (const [s, v] of [['SERIAL_AMBA_PL011', 'y'], ['SERIAL_AMBA_PL011_CONSOLE', 'y'], ['ARM_PSCI_FW', 'y'], ['VIRTIO_MMIO', 'y'], ['PCI', 'n'], ['BLK_DEV_INITRD', 'y']]) {
    assert.equal(value(f, s!), v, s);
  }
  assert.match(reasons(f, 'SERIAL_AMBA_PL011_CONSOLE'), /console=ttyAMA0/);
  assert.match(reasons(f, 'ARM_PSCI_FW'), /PSCI/);
  // What the record's firecrackerConsole checks in the built kernel's config comes from this fragment.
  for (const s of targetArch('aarch64').firecracker?.consoleSymbols ?? []) assert.equal(value(f, s), 'y', s);
  assert.match(reasons(f, 'SERIAL_OF_PLATFORM'), /device tree/);
  for (const x86 of ['PVH', 'PHYSICAL_START', 'KVM_GUEST', 'CPU_SUP_HYGON', 'KERNEL_LZ4', 'KERNEL_XZ']) assert.equal(value(f, x86), undefined, x86);
  assert.deepEqual(f.makeVars, { ARCH: 'arm64', CROSS_COMPILE: 'aarch64-linux-gnu-' });
  const text = describeFragment(f);
  assert.match(text, /^# make ARCH=arm64$/m);
  assert.match(text, /^# make CROSS_COMPILE=aarch64-linux-gnu-$/m);
});

test('arm64 with PCI (the default drivers profile): the ECAM host bridge of QEMU virt, ACPI off with the reason', () => {
  const f = fragmentFor('arch=aarch64', 'image=native-example');
  assert.equal(value(f, 'PCI'), 'y');
  assert.equal(value(f, 'VIRTIO_PCI'), 'y');
  assert.equal(value(f, 'PCI_HOST_GENERIC'), 'y');
  assert.match(reasons(f, 'PCI_HOST_GENERIC'), /conf_drivers_pci=1 .*arch=aarch64.*ECAM/);
  assert.equal(value(f, 'ACPI'), 'n');
  assert.match(reasons(f, 'ACPI'), /conf_drivers_acpi=0 \(arch=aarch64: .*UEFI/);
});

test('the arch is in the kernel cache key: same options, other arch, other fragment text and make variables; x86-64 unchanged', () => {
  const x = fragmentFor('--profile=minimal', 'image=native-example');
  const a = fragmentFor('--profile=minimal', 'image=native-example', 'arch=aarch64');
  assert.notEqual(fragmentText(x), fragmentText(a));
  assert.deepEqual(x.makeVars, {}, 'an x86-64 kernel keeps its make variables (and so its cached kernels)');
  assert.deepEqual(baseFragmentFor('x64'), baseFragment);
  const symbols = baseFragment.map((l) => l.symbol);
  assert.deepEqual(symbols.slice(0, 8), ['64BIT', 'MODULES', 'PRINTK', 'TTY', 'SERIAL_8250', 'SERIAL_8250_CONSOLE', 'SERIAL_8250_NR_UARTS', 'SERIAL_8250_RUNTIME_UARTS']);
});

const art = (file: string) => ({ file, bytes: 1, sha256: 'x' });
function armRecord(over: Partial<BuildRecord['kernel']> = {}, rec: Partial<BuildRecord> = {}): BuildRecord {
  return {
    formatVersion: 1,
    name: 'hello',
    configHash: 'h',
    arch: 'aarch64',
    options: {},
    modules: ['native-example'],
    kernel: { flavour: 'custom', release: '6.1.176', packageVersion: '6.1.176-1', bzImage: art('Image'), hasVirtioMmio: true, hasPci: false, hasAcpi: false, ...over },
    initrd: { ...art('initrd.img'), compression: 'gzip' },
    kernelCmdline: kernelWords('ramfs', { pci: over.hasPci ?? false, arch: targetArches.aarch64 }).join(' '),
    appCmdline: '/hello',
    builtAt: '1970-01-01T00:00:00Z',
    ...rec,
  };
}
const virt: QemuPlan = { hypervisor: 'qemu', accel: 'tcg', memoryMiB: 128, cpus: 1 };

test('an arm64 build runs on qemu-system-aarch64 -M virt, cpu max, its Image, console ttyAMA0, no x86 words', () => {
  const c = buildQemuCommand('/b', armRecord(), virt);
  assert.equal(c.binary, 'qemu-system-aarch64');
  assert.equal(valueAfter(c.args, '-M'), 'virt');
  assert.equal(valueAfter(c.args, '-cpu'), 'max');
  assert.equal(valueAfter(c.args, '-kernel'), '/b/Image');
  assert.match(c.cmdline, /^console=ttyAMA0 quiet panic=-1 cryptomgr\.notests random\.trust_cpu=on rdinit=\/init pci=off -- \/hello$/);
  for (const w of ['noapictimer', 'reboot=t', 'tsc=reliable', 'i8042']) assert.ok(!c.cmdline.includes(w), w);
});

test('arm64 devices: virtio-mmio on a kernel without PCI (virt lists them in its device tree), virtio-pci with PCI', () => {
  const net = { mode: 'user' as const, forwards: [{ host: 16379, guest: 6379 }] };
  const mmio = buildQemuCommand('/b', armRecord({}, { initrd: undefined, rootDisk: { ...art('root.erofs'), fs: 'rofs', readOnly: true } }), { ...virt, network: net });
  assert.ok(mmio.args.includes('virtio-blk-device,drive=root'));
  assert.ok(mmio.args.some((a) => a.startsWith('virtio-net-device,netdev=n0')));
  assert.ok(mmio.args.includes('user,id=n0,hostfwd=tcp:127.0.0.1:16379-:6379'));
  assert.ok(!mmio.cmdline.includes('virtio_mmio.device='), 'no command-line devices: the device tree has them');
  const pci = buildQemuCommand('/b', armRecord({ hasPci: true }), { ...virt, network: net });
  assert.ok(pci.args.some((a) => a.startsWith('virtio-net-pci,netdev=n0')));
});

test('arm64 refusals: microvm (no such machine), KVM on an x86-64 host; Firecracker boots its Image on ttyS0', () => {
  assert.throws(() => buildQemuCommand('/b', armRecord(), { ...virt, hypervisor: 'qemu_microvm' }), (e: unknown) => e instanceof UsageError && /no microvm/.test(e.message) && /-p qemu/.test(e.hint ?? ''));
  if (process.arch === 'x64') {
    assert.throws(() => buildQemuCommand('/b', armRecord(), { ...virt, accel: 'kvm' }), (e: unknown) => e instanceof UsageError && /KVM/.test(e.message));
  }
  assert.deepEqual(targetArches.aarch64.firecracker && [targetArches.aarch64.firecracker.kernel, targetArches.aarch64.firecracker.console], ['boot-image', 'ttyS0']);
  assert.equal(kernelCommandLine(armRecord(), virt).includes('noapictimer'), false);
});

test('Debian arm64 kernel metapackage record: the linux-image-*-arm64 dependency and its version', () => {
  const rec = 'Package: linux-image-arm64\nDepends: linux-image-6.1.0-57-arm64 (= 6.1.192-3)\n';
  assert.deepEqual(parseMetaPackageRecord(rec, 'arm64'), { name: 'linux-image-6.1.0-57-arm64', version: '6.1.192-3' });
  assert.equal(parseMetaPackageRecord(rec), undefined, 'an amd64 lookup does not take the arm64 package');
});

test('the image ELF check: an x86-64 program in an arm64 image is an error naming the file and its module', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-elfcheck-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const host = join(dir, 'prog');
  copyFileSync(process.execPath, host);
  writeFileSync(join(dir, 'text'), 'not elf');
  const hostMachine = await elfMachineOf(host);
  const hostArch = Object.values(targetArches).find((a) => a.elfMachine === hostMachine)!;
  const other = Object.values(targetArches).find((a) => a !== hostArch)!;
  const tree = { entries: [
    { kind: 'file' as const, path: '/usr/bin/prog', mode: 0o755, source: host },
    { kind: 'file' as const, path: '/etc/text', mode: 0o644, source: join(dir, 'text') },
  ] };
  await checkImageArch(tree, hostArch, () => undefined);
  await assert.rejects(checkImageArch(tree, other, (p) => (p === '/usr/bin/prog' ? 'redis' : undefined)), (e: unknown) =>
    e instanceof TailorError && /\/usr\/bin\/prog/.test(e.message) && /module redis/.test(e.message) && !/text/.test(e.message));
});

test('an x86-only kernel patch from a profile is left out of an arm64 kernel with a note; asked for by name, an error', () => {
  const f = fragmentFor('arch=aarch64', '--profile=minimal', 'image=native-example');
  // no-initmem-poison also changes init/ (the initrd is freed unpoisoned on every architecture): it stays
  assert.deepEqual(f.series?.map((l) => l.name), ['no-initmem-poison.patch']);
  assert.equal(value(f, 'X86_COMPACT_KERNEL_LAYOUT'), undefined);
  assert.equal(value(f, 'X86_OPTIONAL_PERF_EVENTS'), undefined);
  assert.equal(value(f, 'PERF_EVENTS'), undefined);
  for (const p of ['compact-layout', 'no-perf-events']) {
    assert.ok(f.notes.some((n) => new RegExp(`${p} changes only arch/x86/ files.*left out`).test(n)), f.notes.join('\n'));
  }
  assert.throws(() => fragmentFor('arch=aarch64', 'kernel_patches=compact-layout'), (e: unknown) => e instanceof UsageError && /arch\/x86/.test(e.message));
  const x = fragmentFor('--profile=minimal', 'image=native-example');
  assert.deepEqual(x.series?.map((l) => l.name), ['compact-layout.patch', 'no-initmem-poison.patch', 'no-perf-events.patch'], 'x86-64 keeps the patches');
  assert.equal(value(x, 'PERF_EVENTS'), 'n');
});
