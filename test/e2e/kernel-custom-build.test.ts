/**
 * The custom kernel end to end: --profile=minimal compiles a real kernel
 * from Debian's linux-source (minutes when cold; reused from the cache when
 * built before), the second identical build is a cache hit that runs no make,
 * the vmlinux boots by PVH on QEMU microvm and runs native-example.
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
import { sourceTarball } from '../../src/kernel/custom/source.ts';

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
  after(() => rmSync(project, { recursive: true, force: true }));

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
