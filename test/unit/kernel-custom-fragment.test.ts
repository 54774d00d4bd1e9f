// The custom kernel's Kconfig fragment (src/kernel/custom/fragment.ts): what each option,
// profile and need puts in it, with reasons, and conflicts named with both sides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/config/index.ts';
import { fragmentIn, reasons, tempProject, value } from './fragment-support.ts';
import { UsageError } from '../../src/errors.ts';
import { composeFragment, describeFragment, fragmentText } from '../../src/kernel/custom/fragment.ts';

const cwd = tempProject('kfrag');
const fragmentFor = (...args: string[]) => fragmentIn(cwd, ...args);

test('--profile=minimal: virtio-mmio from the microvm drivers profile, PCI and ACPI off, no kallsyms, -Os', () => {
  const f = fragmentFor('--profile=minimal', 'image=native-example');
  assert.equal(value(f, 'VIRTIO_MMIO'), 'y');
  assert.match(reasons(f, 'VIRTIO_MMIO'), /conf_drivers_mmio=1 \(conf_drivers_profile=microvm\)/);
  assert.equal(value(f, 'PCI'), 'n');
  assert.equal(value(f, 'ACPI'), 'n');
  assert.equal(value(f, 'KALLSYMS'), 'n');
  assert.match(reasons(f, 'KALLSYMS'), /conf_hide_symbols=1 \(built-in profile minimal/);
  assert.equal(value(f, 'CC_OPTIMIZE_FOR_SIZE'), 'y');
  assert.equal(value(f, 'VIRTIO_PCI'), undefined);
  const text = describeFragment(f);
  assert.match(text, /^CONFIG_VIRTIO_MMIO=y +# conf_drivers_mmio=1/m);
  assert.doesNotMatch(text, /^CONFIG_PCI=y/m);
  assert.match(text, /^# CONFIG_PCI is not set/m);
});

test('the base fragment: serial console, initramfs, PVH, no modules, 2 MiB load address; every line has a reason', () => {
  const f = fragmentFor();
  for (const [s, v] of [['SERIAL_8250_CONSOLE', 'y'], ['BLK_DEV_INITRD', 'y'], ['PVH', 'y'], ['MODULES', 'n'], ['PHYSICAL_START', '0x200000'], ['LEGACY_PTYS', 'n'], ['DEVTMPFS_MOUNT', 'y']]) {
    assert.equal(value(f, s!), v, s);
  }
  for (const l of f.lines) assert.ok(l.reasons.length > 0 && l.reasons.every((r) => r.length > 3), `${l.symbol} has a reason`);
  assert.equal(new Set(f.lines.map((l) => l.symbol)).size, f.lines.length, 'each symbol once');
});

test('conf_drivers_xen=1 adds the Xen symbols; the virtio drivers profile adds virtio-pci', () => {
  const base = fragmentFor('conf_drivers_profile=microvm');
  const xen = fragmentFor('conf_drivers_profile=microvm', 'conf_drivers_xen=1');
  assert.equal(value(base, 'XEN'), undefined);
  assert.equal(value(xen, 'XEN'), 'y');
  assert.match(reasons(xen, 'XEN'), /conf_drivers_xen=1 \(command line/);
  assert.ok(xen.lines.length > base.lines.length);
  const virtio = fragmentFor('conf_drivers_profile=virtio');
  assert.equal(value(virtio, 'VIRTIO_PCI'), 'y');
  assert.match(reasons(virtio, 'VIRTIO_PCI'), /conf_drivers_virtio=1 .* with conf_drivers_pci=1/);
});

test('the filesystem: rofs brings EROFS behind MISC_FILESYSTEMS; ramfs compression picks the initramfs decompressor', () => {
  const rofs = fragmentFor('fs=rofs', 'conf_drivers_profile=microvm');
  assert.equal(value(rofs, 'EROFS_FS'), 'y');
  assert.equal(value(rofs, 'MISC_FILESYSTEMS'), 'y');
  assert.match(reasons(rofs, 'EROFS_FS'), /^fs=rofs \(command line \(fs=rofs\)\): kernel feature erofs/);
  assert.equal(value(fragmentFor('fs_compression=lz4'), 'RD_LZ4'), 'y');
  assert.equal(value(fragmentFor('fs_compression=lz4'), 'RD_GZIP'), 'n');
  assert.equal(value(fragmentFor('fs_compression=none'), 'RD_GZIP'), 'n');
  assert.equal(value(fragmentFor('fs=rofs'), 'RD_GZIP'), 'n');
  assert.equal(value(fragmentFor(), 'RD_GZIP'), 'y');
  assert.equal(value(fragmentFor('fs_compression=xz'), 'RD_XZ'), 'y');
  assert.equal(value(fragmentFor('fs_compression=xz'), 'RD_GZIP'), 'n');
});

test('a disk root without any disk driver is refused, naming the drivers profile; the minimal profile\'s disk-less default yields to it', () => {
  assert.throws(() => fragmentFor('fs=ext4', 'conf_drivers_profile=base'), (e: unknown) => e instanceof UsageError && /fs=ext4 .*needs kernel feature block, and the kernel would have no disk driver: conf_drivers_profile=base has none/.test(e.message));
  // --profile=minimal turns virtio-blk off (ramfs images need no disk); a disk root brings it back, with the reason.
  assert.equal(value(fragmentFor('--profile=minimal', 'image=native-example'), 'VIRTIO_BLK'), undefined);
  for (const fs of ['rofs', 'ext4', 'btrfs']) {
    const f = fragmentFor('--profile=minimal', `fs=${fs}`, 'image=native-example');
    assert.equal(value(f, 'VIRTIO_BLK'), 'y', fs);
    assert.match(reasons(f, 'VIRTIO_BLK'), /overrides conf_drivers_virtio_blk=0 \(built-in profile minimal/);
  }
  assert.throws(() => fragmentFor('--profile=minimal', 'fs=ext4', 'conf_drivers_virtio_blk=0'), (e: unknown) => e instanceof UsageError && /conf_drivers_virtio_blk=0 \(command line/.test(e.message));
});

test('module needs are named in the reasons', () => {
  const config = resolveConfig(['kernel=custom'], { cwd });
  const f = composeFragment(config, ['net', 'epoll'], new Map([['net', ['module httpserver']]]));
  assert.equal(value(f, 'INET'), 'y');
  assert.match(reasons(f, 'INET'), /kernel feature net \(needed by module httpserver\)/);
});

test('two sources asking different values of one symbol: an error naming both', () => {
  // microvm turns PCI off; a module needing virtio-pci asks PCI=y.
  const config = resolveConfig(['kernel=custom', 'conf_drivers_profile=microvm'], { cwd });
  assert.throws(
    () => composeFragment(config, ['virtio-pci'], new Map([['virtio-pci', ['module pcitool']]])),
    (e: unknown) =>
      e instanceof UsageError &&
      /conflicting kernel settings: # CONFIG_PCI is not set \(conf_drivers_pci=0 \(conf_drivers_profile=microvm\)\) but CONFIG_PCI=y \(kernel feature virtio-pci \(needed by module pcitool\)\)/.test(e.message),
  );
});

test('a profile\'s kernel patch yields to a need it contradicts, with a note; asked for on the command line, the conflict is an error', () => {
  const minimal = resolveConfig(['--profile=minimal'], { cwd });
  assert.deepEqual(composeFragment(minimal, [], new Map()).series?.map((l) => l.name), ['compact-layout.patch', 'no-initmem-poison.patch', 'no-perf-events.patch']);
  const f = composeFragment(minimal, ['perf-events'], new Map([['perf-events', ['module profiler']]]));
  assert.deepEqual(f.series?.map((l) => l.name), ['compact-layout.patch', 'no-initmem-poison.patch']);
  assert.equal(value(f, 'PERF_EVENTS'), 'y');
  assert.equal(value(f, 'X86_OPTIONAL_PERF_EVENTS'), undefined);
  assert.ok(f.notes.some((n) => /kernel patch no-perf-events\.patch left out: it sets # CONFIG_PERF_EVENTS is not set, but CONFIG_PERF_EVENTS=y \(kernel feature perf-events \(needed by module profiler\)\)/.test(n)), f.notes.join('\n'));
  // tracing (tailor learn's kernel, --trace) brings perf events back the same way
  const traced = composeFragment(minimal, ['tracing'], new Map());
  assert.deepEqual(traced.series?.map((l) => l.name), ['compact-layout.patch', 'no-initmem-poison.patch']);
  assert.equal(value(traced, 'PERF_EVENTS'), 'y');
  const asked = resolveConfig(['kernel=custom', 'kernel_patches=no-perf-events'], { cwd });
  assert.throws(() => composeFragment(asked, ['perf-events'], new Map([['perf-events', ['module profiler']]])),
    (e: unknown) => e instanceof UsageError && /conflicting kernel settings: CONFIG_PERF_EVENTS=y \(kernel feature perf-events/.test(e.message) && /kernel patch no-perf-events\.patch/.test(e.message));
});

test('options: -O3 goes to KCFLAGS and says so, mode=debug turns on debug info, lto asks for an LLVM build, preempt', () => {
  const o3 = fragmentFor('-O3');
  assert.equal(o3.makeVars.KCFLAGS, '-O3');
  assert.equal(value(o3, 'CC_OPTIMIZE_FOR_PERFORMANCE'), 'y');
  assert.ok(o3.notes.some((n) => /KCFLAGS=-O3/.test(n)));
  assert.equal(value(fragmentFor('mode=debug'), 'DEBUG_INFO_DWARF5'), 'y');
  const lto = fragmentFor('lto=1');
  assert.equal(lto.makeVars.LLVM, '1');
  assert.equal(value(lto, 'LTO_CLANG_THIN'), 'y');
  assert.equal(value(fragmentFor('conf_preempt=1'), 'PREEMPT'), 'y');
  assert.equal(value(fragmentFor(), 'PREEMPT_NONE'), 'y');
  assert.equal(value(fragmentFor('-Os'), 'KERNEL_XZ'), 'y');
  assert.equal(value(fragmentFor(), 'KERNEL_LZ4'), 'y');
});

test('the fragment text is stable: same options, same bytes', () => {
  assert.equal(fragmentText(fragmentFor('--profile=minimal')), fragmentText(fragmentFor('--profile=minimal')));
  assert.notEqual(fragmentText(fragmentFor('--profile=minimal')), fragmentText(fragmentFor('--profile=minimal', 'conf_drivers_xen=1')));
});

test('a module needing ipv6 overrides the base fragment\'s IPV6=n instead of conflicting', () => {
  const f = composeFragment(resolveConfig(['kernel=custom'], { cwd }), ['ipv6'], new Map([['ipv6', ['module dns']]]));
  assert.equal(value(f, 'IPV6'), 'y');
  assert.match(reasons(f, 'IPV6'), /kernel feature ipv6 \(needed by module dns\) \(overrides the base fragment's # CONFIG_IPV6 is not set\)/);
});

// A need for the network or a disk brings the drivers profile's device driver (src/kernel/custom/device-drivers.ts).
const withNeeds = (args: string[], needs: string[], module = 'module srv') =>
  composeFragment(resolveConfig([...args, 'kernel=custom'], { cwd }), needs, new Map(needs.map((n) => [n, [module]])));

test('net brings the network driver of each drivers profile', () => {
  const expected: Record<string, string> = {
    virtio: 'VIRTIO_NET', microvm: 'VIRTIO_NET', 'virtio-mmio': 'VIRTIO_NET', 'virtio-pci': 'VIRTIO_NET',
    aws: 'ENA_ETHERNET', vmware: 'VMXNET3', hyperv: 'HYPERV_NET', xen: 'XEN_NETDEV_FRONTEND',
  };
  for (const [profile, symbol] of Object.entries(expected)) {
    const f = withNeeds([`conf_drivers_profile=${profile}`], ['net']);
    assert.equal(value(f, symbol), 'y', `conf_drivers_profile=${profile}: CONFIG_${symbol}`);
    assert.equal(value(f, 'INET'), 'y');
  }
  // hyperv and xen switches alone bring only their disk front ends: the network half comes with the need
  assert.equal(value(fragmentFor('conf_drivers_profile=hyperv'), 'HYPERV_NET'), undefined);
  assert.match(reasons(withNeeds(['conf_drivers_profile=hyperv'], ['net']), 'HYPERV_NET'), /kernel feature net \(needed by module srv\) with conf_drivers_hyperv=1 .*netvsc/);
});

test('--profile=minimal with a net need: virtio-net comes back, the reason names the profile line it overrides', () => {
  const f = withNeeds(['--profile=minimal'], ['net'], 'module redis');
  assert.equal(value(f, 'VIRTIO_NET'), 'y');
  assert.equal(value(f, 'NETDEVICES'), 'y');
  assert.match(
    reasons(f, 'VIRTIO_NET'),
    /kernel feature net \(needed by module redis\): virtio-net, the network driver of conf_drivers_profile=microvm \(overrides conf_drivers_virtio_net=0 \(built-in profile minimal \(conf\/profiles\/minimal\.mk:\d+\)\)/,
  );
  assert.match(describeFragment(f), /^CONFIG_VIRTIO_NET=y +# kernel feature net \(needed by module redis\)/m);
  // without the need, minimal stays without a network driver
  assert.equal(value(fragmentFor('--profile=minimal'), 'VIRTIO_NET'), undefined);
});

test('net with no network driver is refused, naming the module and the fixes', () => {
  assert.throws(
    () => withNeeds(['conf_drivers_profile=nvme'], ['net'], 'module redis'),
    (e: unknown) =>
      e instanceof UsageError &&
      /module redis needs kernel feature net, and the kernel would have no network driver: conf_drivers_profile=nvme has none/.test(e.message) &&
      /conf_drivers_virtio_net=1/.test(e.hint ?? '') && /conf_drivers_profile=.*virtio/.test(e.hint ?? '') && /without module redis/.test(e.hint ?? ''),
  );
  // the user's own conf_drivers_virtio_net=0 is not overridden
  assert.throws(
    () => withNeeds(['--profile=minimal', 'conf_drivers_virtio_net=0'], ['net'], 'module redis'),
    (e: unknown) =>
      e instanceof UsageError &&
      /no network driver: conf_drivers_virtio_net=0 \(command line/.test(e.message) &&
      /conf_drivers_virtio_net=1; or build the image without module redis/.test(e.hint ?? ''),
  );
  // a network driver of the user's choice on a profile without one is fine
  assert.equal(value(withNeeds(['conf_drivers_profile=nvme', 'conf_drivers_vmxnet3=1'], ['net']), 'VMXNET3'), 'y');
});

test('block brings the disk driver of the drivers profile; none is an error naming the module', () => {
  assert.equal(value(withNeeds(['conf_drivers_profile=microvm'], ['block']), 'VIRTIO_BLK'), 'y');
  assert.equal(value(withNeeds(['conf_drivers_profile=aws'], ['block']), 'BLK_DEV_NVME'), 'y');
  assert.equal(value(withNeeds(['conf_drivers_profile=vmware'], ['block']), 'VMWARE_PVSCSI'), 'y');
  assert.equal(value(withNeeds(['conf_drivers_profile=xen'], ['block']), 'XEN_BLKDEV_FRONTEND'), 'y');
  assert.throws(
    () => withNeeds(['conf_drivers_profile=base'], ['block'], 'module db'),
    (e: unknown) => e instanceof UsageError && /module db needs kernel feature block, and the kernel would have no disk driver/.test(e.message) && /conf_drivers_virtio_blk=1/.test(e.hint ?? ''),
  );
  assert.throws(
    () => withNeeds(['conf_drivers_profile=microvm', 'conf_drivers_virtio_blk=0'], ['block'], 'module db'),
    (e: unknown) => e instanceof UsageError && /conf_drivers_virtio_blk=0 \(command line/.test(e.message),
  );
});
