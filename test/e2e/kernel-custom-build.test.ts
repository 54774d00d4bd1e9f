/**
 * The custom kernel end to end: --profile=minimal compiles a real kernel
 * from Debian's linux-source (minutes when cold; reused from the cache when
 * built before), the second identical build is a cache hit that runs no make,
 * the vmlinux boots by PVH on QEMU microvm and runs native-example. Then
 * minimal + one feature (fw-cfg, which the cloud-init module needs) is built
 * as an incremental variant from the minimal tree, has the .config a cold
 * configure gives, and boots. (fs=rofs is no one-feature variant: it turns
 * on CONFIG_BLOCK, which changes struct inode, so nearly everything rebuilds.)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/config/index.ts';
import { hasPvhNote } from '../../src/elf/index.ts';
import { buildCustomKernel, prepareCustomKernel, type BuiltKernel } from '../../src/kernel/custom/index.ts';
import { configureKernel } from '../../src/kernel/custom/configure.ts';
import { sourceTarball } from '../../src/kernel/custom/source.ts';
import { fragmentSource } from '../../src/kernel/custom/patched-source.ts';

const tailor = resolve(import.meta.dirname, '..', '..', 'bin', 'tailor.js');
const project = mkdtempSync(join(tmpdir(), 'tailor-kcustom-'));
const skip = existsSync(sourceTarball) ? false : `${sourceTarball} not installed (apt-get install linux-source-6.1)`;

function run(args: string[], timeoutMs = 1_800_000) {
  const r = spawnSync(process.execPath, [tailor, ...args], { cwd: project, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, out: r.stdout, err: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}

describe('custom kernel: --profile=minimal', { skip }, () => {
  const config = resolveConfig(['--profile=minimal', 'image=native-example'], { cwd: project });
  let first: BuiltKernel;
  before(async () => {
    first = await buildCustomKernel(config, [], { log: (l) => process.stderr.write(`${l}\n`) });
  }, { timeout: 1_800_000 });

  it('is cached with every file, its .config has virtio-mmio and no PCI, and the vmlinux has the PVH note', () => {
    for (const f of ['bzImage', 'vmlinux', 'config', 'System.map', 'build.log', 'meta.json']) assert.ok(existsSync(join(first.dir, f)), f);
    const dotConfig = readFileSync(join(first.dir, 'config'), 'utf8');
    assert.match(dotConfig, /^CONFIG_VIRTIO_MMIO=y$/m);
    assert.doesNotMatch(dotConfig, /^CONFIG_PCI=y$/m);
    assert.doesNotMatch(dotConfig, /^CONFIG_KALLSYMS=y$/m);
    assert.ok(hasPvhNote(readFileSync(join(first.dir, 'vmlinux'))));
    assert.ok(first.meta.sizes.bzImage > 100_000 && first.meta.sizes.bzImage < 4_000_000, `bzImage ${first.meta.sizes.bzImage}`);
  });

  it('a second identical build is a cache hit in under a second, without make', async () => {
    const t0 = performance.now();
    const again = await buildCustomKernel(config, [], { log: () => assert.fail('a cache hit logs nothing (no build)') });
    const ms = performance.now() - t0;
    assert.equal(again.cached, true);
    assert.equal(again.dir, first.dir);
    assert.ok(ms < 1000, `cache hit took ${ms.toFixed(0)} ms`);
  });

  it('prepareCustomKernel describes it: no modules, vmlinux, mmio without PCI/ACPI, gzip initramfs', async () => {
    const k = await prepareCustomKernel(config, []);
    assert.equal(k.flavour, 'custom');
    assert.deepEqual(k.modules, []);
    assert.equal(k.vmlinux, join(first.dir, 'vmlinux'));
    assert.equal(k.hasVirtioMmio, true);
    assert.equal(k.hasPci, false);
    assert.equal(k.hasAcpi, false);
    assert.ok(k.initrdCompressions.includes('gzip'));
  });

  it('boots native-example on QEMU microvm and exits 0', { timeout: 600_000 }, () => {
    const b = run(['build', '--profile=minimal', 'image=native-example']);
    assert.equal(b.code, 0, b.all);
    const r = run(['run', '--timeout', '120'], 300_000);
    assert.equal(r.code, 0, r.all);
    assert.match(r.out, /Hello from Tailor's native-example/);
  });

  it('tailor kernel config --profile=minimal shows CONFIG_VIRTIO_MMIO=y with its reason and no CONFIG_PCI=y', () => {
    const r = run(['kernel', 'config', '--profile=minimal', 'image=native-example'], 60_000);
    assert.equal(r.code, 0, r.all);
    assert.match(r.out, /^CONFIG_VIRTIO_MMIO=y +# conf_drivers_mmio=1 \(conf_drivers_profile=microvm\)/m);
    assert.doesNotMatch(r.out, /^CONFIG_PCI=y/m);
  });
});

describe('custom kernel: an incremental one-feature variant (--profile=minimal image=cloud-init,native-example)', { skip }, () => {
  after(() => rmSync(project, { recursive: true, force: true }));
  const minimal = resolveConfig(['--profile=minimal', 'image=native-example'], { cwd: project });
  const variantArgs = ['--profile=minimal', 'image=cloud-init,native-example'];
  const config = resolveConfig(variantArgs, { cwd: project });
  const needs = ['fw-cfg']; // the cloud-init module's need, as the image stage passes it: the same fragment, the same kernel
  let base: BuiltKernel;
  let variant: BuiltKernel;
  let seconds = 0;
  before(async () => {
    base = await buildCustomKernel(minimal, [], { log: (l) => process.stderr.write(`${l}\n`) });
    const t0 = performance.now();
    variant = await buildCustomKernel(config, needs, { log: (l) => process.stderr.write(`${l}\n`) });
    seconds = (performance.now() - t0) / 1000;
  }, { timeout: 1_800_000 });

  it('is built from the nearest finished tree (the minimal one) and records it', (t) => {
    if (variant.cached && !variant.meta.base) {
      // Built on this machine before builds were incremental: nothing here can show how it was built.
      t.diagnostic(`variant kernel ${variant.meta.key} was cached by a cold build; delete it to see the incremental path`);
      return;
    }
    assert.equal(variant.meta.base?.key, base.meta.key, JSON.stringify(variant.meta.base));
    assert.ok(variant.meta.base!.differing > 0 && variant.meta.base!.differing < 40, `${variant.meta.base!.differing} symbols differ`);
    assert.ok(variant.meta.objects < base.meta.objects / 2 || base.meta.base !== undefined, `compiled ${variant.meta.objects} objects, the minimal kernel ${base.meta.objects}`);
    t.diagnostic(`variant: ${variant.cached ? 'cached' : `built in ${seconds.toFixed(1)} s`}, ${variant.meta.objects} objects (cold minimal: ${base.meta.objects} in ${base.meta.buildSeconds} s)`);
  });

  it('has exactly the .config a cold configure of its fragment gives', { timeout: 600_000 }, async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'tailor-kcfg-'));
    try {
      // the source the fragment is built from: the patched copy when its profile names patches (minimal: compact-layout)
      const source = await fragmentSource(variant.fragment);
      const cold = await configureKernel(source.dir, scratch, variant.fragment);
      assert.equal(readFileSync(join(variant.dir, 'config'), 'utf8'), cold);
      assert.match(cold, /^CONFIG_FW_CFG_SYSFS=y$/m);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('boots: cloud-init (no user data) then native-example', { timeout: 600_000 }, () => {
    const b = run(['build', ...variantArgs, 'name=variant']);
    assert.equal(b.code, 0, b.all);
    const record = JSON.parse(readFileSync(join(project, 'build', 'variant', 'build.json'), 'utf8'));
    assert.equal(record.kernel.bzImage.sha256, spawnSync('sha256sum', [join(variant.dir, 'bzImage')], { encoding: 'utf8' }).stdout.split(' ')[0]);
    const r = run(['run', 'variant', '--timeout', '120'], 300_000);
    assert.equal(r.code, 0, r.all);
    assert.match(r.out, /Hello from Tailor's native-example/);
  });
});
