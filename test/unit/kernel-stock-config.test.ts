// Reading a kernel .config, what the stock path derives from it, and the stage's dispatcher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TailorError, UsageError } from '../../src/errors.ts';
import type { BuildConfig } from '../../src/config/types.ts';
import { resolveConfig } from '../../src/config/index.ts';
import { prepareKernel, stockDriverNeeds } from '../../src/kernel/index.ts';
import { initrdCompressionsOf, parseKernelConfig, parseMetaPackageRecord, prepareStockKernel } from '../../src/kernel/stock.ts';

const sample = [
  '#',
  '# Automatically generated file; DO NOT EDIT.',
  'CONFIG_RD_GZIP=y',
  '# CONFIG_RD_LZ4 is not set',
  'CONFIG_RD_ZSTD=y',
  'CONFIG_VIRTIO_MMIO=m',
  'CONFIG_MODULE_SIG_HASH="sha256"',
  'CONFIG_NR_CPUS=512',
  '',
].join('\n');

test('parseKernelConfig reads y/m/strings/numbers and "is not set" as n', () => {
  const c = parseKernelConfig(sample);
  assert.equal(c.get('RD_GZIP'), 'y');
  assert.equal(c.get('RD_LZ4'), 'n');
  assert.equal(c.get('VIRTIO_MMIO'), 'm');
  assert.equal(c.get('MODULE_SIG_HASH'), 'sha256');
  assert.equal(c.get('NR_CPUS'), '512');
  assert.equal(c.has('RD_XZ'), false);
  assert.equal(c.size, 6);
});

test('initrdCompressionsOf lists what the kernel can unpack, none always', () => {
  assert.deepEqual(initrdCompressionsOf(parseKernelConfig(sample)), ['none', 'gzip', 'zstd']);
  assert.deepEqual(initrdCompressionsOf(new Map()), ['none']);
});

const config = (options: Record<string, unknown>) =>
  ({ options, sources: {}, hash: 'x', warnings: [], modulePaths: [], cwd: '/' }) as unknown as BuildConfig;

test('an unknown kernel need is rejected before anything is fetched', async () => {
  await assert.rejects(prepareStockKernel(['erofs', 'erofz'], { mmio: true, pci: false }), (e: Error) => e instanceof UsageError && /did you mean erofs/.test(e.message));
  await assert.rejects(prepareKernel(config({ kernel: 'stock' }), ['nosuch-feature']), UsageError);
});

test('prepareKernel rejects an unknown kernel flavour', async () => {
  await assert.rejects(prepareKernel(config({ kernel: 'vintage' }), []), (e: Error) => e instanceof TailorError && /"vintage"/.test(e.message));
});

test('stock images load driver modules the user switched on, not those a drivers profile merely implies', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tailor-drv-'));
  try {
    const byDefault = resolveConfig(['kernel=stock'], { cwd });
    assert.equal(byDefault.options.conf_drivers_virtio_net, true, 'the default drivers profile turns virtio-net on');
    assert.deepEqual(stockDriverNeeds(byDefault), []);
    const explicit = resolveConfig(['kernel=stock', 'conf_drivers_virtio_net=1', 'conf_drivers_nvme=1'], { cwd });
    assert.deepEqual(stockDriverNeeds(explicit).sort(), ['nvme', 'virtio-net']);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test("the metapackage record names the ABI package and its exact version", () => {
  const record = [
    'Package: linux-image-amd64',
    'Source: linux-signed-amd64 (6.1.192+2)',
    'Version: 6.1.192-2',
    'Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)',
    'Description: Linux for 64-bit PCs (meta-package)',
  ].join('\n');
  assert.deepEqual(parseMetaPackageRecord(record), { name: 'linux-image-6.1.0-56-amd64', version: '6.1.192-2' });
  assert.deepEqual(parseMetaPackageRecord('Depends: linux-image-6.12.9+bpo-amd64 (= 6.12.9-1~bpo12+1), extra'), { name: 'linux-image-6.12.9+bpo-amd64', version: '6.12.9-1~bpo12+1' });
  assert.equal(parseMetaPackageRecord('Package: linux-image-amd64\nVersion: 1'), undefined);
});
