// Debian's stock kernel, for real: fetched with apt into the cache, the module closure for an
// EROFS root on virtio-blk over virtio-mmio, a cache hit, the module index against depmod, the
// feature table against the Kconfig sources, and a TCG boot that loads the closure and mounts EROFS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, hasCommand } from '../../src/util/exec.ts';
import { hasPvhNote, parseElf } from '../../src/elf/index.ts';
import { kernelFeatures } from '../../src/kernel/features.ts';
import { moduleName, parseModulesDep } from '../../src/kernel/modules-dep.ts';
import { parseKernelConfig, prepareStockKernel } from '../../src/kernel/stock.ts';
import type { KernelArtifact } from '../../src/kernel/types.ts';

const needs = ['virtio-blk', 'erofs'];
const transport = { mmio: true, pci: false };
let kernel: KernelArtifact | undefined;

async function stockKernel(): Promise<KernelArtifact> {
  kernel ??= await prepareStockKernel(needs, transport);
  return kernel;
}

test('prepareStockKernel gives existing files and the closure for EROFS on virtio-blk over virtio-mmio', { timeout: 600_000 }, async () => {
  const k = await stockKernel();
  assert.equal(k.flavour, 'stock');
  assert.match(k.release, /^\d+\.\d+\.\d+-\d+-amd64$/);
  for (const f of [k.bzImage, k.config, ...k.modules.map((m) => m.source)]) assert.ok(existsSync(f), `${f} missing`);
  assert.equal(readFileSync(k.bzImage).toString('latin1', 0x202, 0x206), 'HdrS', 'bzImage has the x86 boot header');
  if (k.vmlinux) assert.ok(hasPvhNote(readFileSync(k.vmlinux), k.vmlinux), 'vmlinux is only offered with a PVH note');

  const config = parseKernelConfig(readFileSync(k.config, 'utf8'));
  const names = k.modules.map((m) => moduleName(m.source));
  const expected = ['virtio_blk', 'erofs', ...(config.get('VIRTIO_MMIO') === 'm' ? ['virtio_mmio'] : [])];
  for (const n of expected) assert.ok(names.includes(n), `${n} not in ${names.join(' ')}`);
  assert.ok(!names.includes('virtio_pci'), 'no PCI transport was asked for');
  assert.equal(new Set(names).size, names.length, 'each module once');
  for (const m of k.modules) {
    assert.ok(m.guestPath.startsWith(`/lib/modules/${k.release}/kernel/`), m.guestPath);
    assert.ok(m.source.endsWith(m.guestPath.slice(`/lib/modules/${k.release}/`.length)), `${m.source} vs ${m.guestPath}`);
  }
  // Dependencies first: every module's modules.dep entries come before it.
  const dep = parseModulesDep(readFileSync(join(k.modules[0]!.source.split('/kernel/')[0]!, 'modules.dep'), 'utf8'));
  names.forEach((n, i) => {
    for (const d of dep.get(n)!.deps) assert.ok(names.indexOf(moduleName(d)) < i && names.includes(moduleName(d)), `${moduleName(d)} must load before ${n}`);
  });
  assert.equal(k.hasVirtioMmio, true);
  assert.equal(k.hasPci, false);
  assert.equal(k.hasAcpi, config.get('ACPI') === 'y');
  assert.ok(k.initrdCompressions.includes('gzip'));
  const size = (f: string) => statSync(f).size;
  console.log(
    `stock ${k.release} (${k.packageVersion}): bzImage ${size(k.bzImage)} B, vmlinux ${k.vmlinux ? `${size(k.vmlinux)} B (PVH)` : 'none'},` +
      ` ${names.length} modules ${k.modules.reduce((s, m) => s + size(m.source), 0)} B: ${names.join(' ')}`,
  );
});

test('a second prepareStockKernel is a cache hit under one second', { timeout: 600_000 }, async () => {
  await stockKernel();
  const t0 = performance.now();
  const again = await prepareStockKernel(needs, transport);
  const ms = performance.now() - t0;
  console.log(`cache hit: ${ms.toFixed(1)} ms`);
  assert.deepEqual(again, kernel);
  assert.ok(ms < 1000, `cache hit took ${ms.toFixed(0)} ms`);
});

test("Tailor's modules.dep lists the same dependencies as depmod's", { timeout: 600_000 }, async (t) => {
  if (!(await hasCommand('depmod'))) return t.skip('depmod is not installed (run: node bin/tailor.js doctor --fix, or apt-get install -y kmod)');
  const k = await stockKernel();
  const moduleDir = k.modules[0]!.source.split('/kernel/')[0]!;
  const root = mkdtempSync(join(tmpdir(), 'tailor-depmod-'));
  try {
    mkdirSync(join(root, 'lib', 'modules'), { recursive: true });
    // Hard links: depmod reads the same .ko files without copying 400 MB.
    await exec('cp', ['-al', moduleDir, join(root, 'lib', 'modules', k.release)]);
    for (const f of ['modules.dep', 'modules.softdep', 'modules.alias']) rmSync(join(root, 'lib', 'modules', k.release, f));
    await exec('depmod', ['-b', root, k.release]);
    const theirs = parseModulesDep(readFileSync(join(root, 'lib', 'modules', k.release, 'modules.dep'), 'utf8'));
    const ours = parseModulesDep(readFileSync(join(moduleDir, 'modules.dep'), 'utf8'));
    assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort());
    for (const [name, e] of theirs) assert.deepEqual([...ours.get(name)!.deps].sort(), [...e.deps].sort(), name);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('every Kconfig symbol of the feature table exists in the Linux sources', { timeout: 600_000 }, async (t) => {
  const tarball = existsSync('/usr/src') ? readdirSync('/usr/src').find((f) => /^linux-source-.*\.tar\.xz$/.test(f)) : undefined;
  if (!tarball) return t.skip('linux-source-* is not installed (apt-get install linux-source-6.1)');
  const dir = mkdtempSync(join(tmpdir(), 'tailor-kconfig-'));
  try {
    await exec('tar', ['-xJf', join('/usr/src', tarball), '-C', dir, '--wildcards', '*Kconfig*']);
    const symbols = new Set<string>();
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.startsWith('Kconfig')) {
          for (const m of readFileSync(join(d, e.name), 'utf8').matchAll(/^\s*(?:menu)?config\s+([A-Za-z0-9_]+)/gm)) symbols.add(m[1]!);
        }
      }
    };
    walk(dir);
    assert.ok(symbols.size > 10000, `only ${symbols.size} symbols read`);
    const missing = Object.entries(kernelFeatures).flatMap(([n, f]) => Object.keys(f.kconfig).filter((s) => !symbols.has(s)).map((s) => `${n}: ${s}`));
    assert.deepEqual(missing, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Run QEMU until it exits or `ms` pass; returns the console output. */
function runQemu(args: string[], ms: number): Promise<{ out: string; timedOut: boolean }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, ms);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolvePromise({ out, timedOut });
    });
  });
}

test('the stock kernel boots on microvm, loads the closure and mounts EROFS from virtio-blk (TCG)', { timeout: 600_000 }, async (t) => {
  for (const tool of ['qemu-system-x86_64', 'mkfs.erofs', 'cpio', 'busybox']) {
    if (!(await hasCommand(tool))) return t.skip(`${tool} not installed`);
  }
  const busybox = (await exec('sh', ['-c', 'command -v busybox'])).stdout.trim();
  if (parseElf(readFileSync(busybox), busybox).interpreter !== undefined) return t.skip('busybox is not static (apt-get install busybox-static)');
  const k = await stockKernel();
  const dir = mkdtempSync(join(tmpdir(), 'tailor-stockboot-'));
  try {
    // A busybox initramfs standing in for the guest init: load the modules in the given order, mount, print.
    const ir = join(dir, 'ir');
    mkdirSync(join(ir, 'bin'), { recursive: true });
    mkdirSync(join(ir, 'mods'));
    copyFileSync(busybox, join(ir, 'bin', 'busybox'));
    const names = k.modules.map((m, i) => {
      const file = `${String(i).padStart(2, '0')}-${moduleName(m.source)}.ko`;
      copyFileSync(m.source, join(ir, 'mods', file));
      return file;
    });
    const init = [
      '#!/bin/busybox sh',
      'B=/bin/busybox',
      '$B mkdir -p /proc /dev /mnt',
      '$B mount -t proc proc /proc',
      '$B mount -t devtmpfs dev /dev',
      ...names.map((f) => `$B insmod /mods/${f} || echo "INSMOD-FAILED ${f}"`),
      '$B mount -t erofs -o ro /dev/vda /mnt && $B cat /mnt/greeting',
      'echo BOOT-TEST-END',
      '$B poweroff -f',
    ].join('\n');
    writeFileSync(join(ir, 'init'), init + '\n');
    chmodSync(join(ir, 'init'), 0o755);
    await exec('sh', ['-c', 'cd "$1" && find . | cpio -o -H newc --quiet | gzip -1 > "$2"', 'sh', ir, join(dir, 'initrd.gz')]);
    mkdirSync(join(dir, 'disk'));
    writeFileSync(join(dir, 'disk', 'greeting'), 'erofs-root-is-readable\n');
    await exec('mkfs.erofs', ['-zlz4hc', join(dir, 'disk.img'), join(dir, 'disk')]);

    // Debian's kernel has no VIRTIO_MMIO_CMDLINE_DEVICES: microvm must describe the devices in ACPI.
    // -icount: guest time follows executed instructions, so the PIT/TSC calibration cannot fail
    // when other jobs starve QEMU (without it the boot hung at "tsc: Unable to calibrate against PIT").
    const t0 = performance.now();
    const { out, timedOut } = await runQemu(
      [
        '-M', 'microvm,x-option-roms=off,isa-serial=on,acpi=on', '-accel', 'tcg', '-icount', 'shift=0', '-m', '256', '-nodefaults', '-no-user-config',
        '-display', 'none', '-serial', 'stdio', '-no-reboot',
        '-kernel', k.vmlinux ?? k.bzImage, '-initrd', join(dir, 'initrd.gz'),
        '-append', 'console=ttyS0 quiet panic=-1 reboot=t',
        '-drive', `id=root,file=${join(dir, 'disk.img')},format=raw,if=none,readonly=on`, '-device', 'virtio-blk-device,drive=root',
      ],
      150_000,
    );
    console.log(`boot with ${names.length} modules to power-off: ${((performance.now() - t0) / 1000).toFixed(2)} s (TCG, ${k.vmlinux ? 'PVH vmlinux' : 'bzImage'})`);
    assert.equal(timedOut, false, `QEMU did not power off:\n${out.slice(-2000)}`);
    assert.doesNotMatch(out, /INSMOD-FAILED/, out.slice(-2000));
    assert.match(out, /erofs-root-is-readable/, out.slice(-2000));
    assert.match(out, /BOOT-TEST-END/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
