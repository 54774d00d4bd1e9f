// The kernel feature table: validation with did-you-mean, the stock-module and Kconfig mappings,
// and the table's facts checked against Debian's real kernel (config, modules.dep, modules.builtin).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TailorError, UsageError } from '../../src/errors.ts';
import { kconfigFor, kernelFeatureNames, kernelFeatures, stockModulesFor, validateKernelNeeds } from '../../src/kernel/features.ts';
import { loadModuleIndex } from '../../src/kernel/modules-dep.ts';
import { cachedStockKernels, parseKernelConfig } from '../../src/kernel/stock.ts';

/**
 * Symbols Debian's .config does not list although they exist in Kconfig,
 * because Debian's other choices hide their prompt (checked against the
 * Kconfig sources in test/e2e/kernel-stock.test.ts).
 */
const hiddenInDebianConfig: Record<string, string> = {
  ENABLE_DEFAULT_TRACERS: "only visible when no tracer selects GENERIC_TRACER; Debian's function tracer does",
};

test('validateKernelNeeds accepts known names once each, in first-seen order', () => {
  assert.deepEqual(validateKernelNeeds(['net', 'epoll', 'net', 'erofs']), ['net', 'epoll', 'erofs']);
  assert.deepEqual(validateKernelNeeds([]), []);
});

test('validateKernelNeeds rejects an unknown name with a did-you-mean and the place it came from', () => {
  assert.throws(
    () => validateKernelNeeds(['net', 'virtio-blck'], 'module foo (modules/foo/module.yaml)'),
    (e: Error) =>
      e instanceof UsageError &&
      e.exitCode === 2 &&
      e.message.includes('module foo (modules/foo/module.yaml)') &&
      e.message.includes('"virtio-blck"') &&
      /did you mean virtio-blk/.test(e.message) &&
      (e.hint ?? '').includes('erofs'),
  );
  assert.throws(() => validateKernelNeeds(['constructor']), UsageError, 'object prototype names are not features');
});

test('every feature has help, Kconfig symbols without CONFIG_, and well-formed module names', () => {
  assert.ok(kernelFeatureNames.length >= 29);
  for (const need of ['net', 'ipv6', 'unix-sockets', 'epoll', 'eventfd', 'timerfd', 'signalfd', 'inotify', 'futex', 'aio', 'sysvipc', 'posix-mqueue', 'block', 'virtio-blk', 'virtio-net', 'virtio-rng', 'virtio-scsi', 'virtio-console', 'nvme', 'erofs', 'ext4', 'btrfs', '9p', 'virtiofs', 'tmpfs', 'hugetlbfs', 'tracing', 'pvpanic']) {
    assert.ok(kernelFeatures[need], `feature ${need} missing`);
  }
  for (const [name, f] of Object.entries(kernelFeatures)) {
    assert.match(name, /^[a-z0-9][a-z0-9-]*$/);
    assert.ok(f.help.length > 5, `${name}: help`);
    assert.ok(Object.keys(f.kconfig).length > 0, `${name}: no Kconfig symbols`);
    for (const [sym, value] of Object.entries(f.kconfig)) {
      assert.match(sym, /^[A-Z0-9_]+$/, `${name}: ${sym}`);
      assert.ok(!sym.startsWith('CONFIG_'), `${name}: ${sym} has the CONFIG_ prefix`);
      assert.match(value, /^(y|n|m|".*"|\d+|0x[0-9a-f]+)$/, `${name}: ${sym}=${value}`);
    }
    for (const m of f.stockModules) assert.match(m, /^[a-z0-9_]+$/, `${name}: module ${m}`);
  }
});

test('menu symbols come with the features that hide behind them (EROFS, 9p, virtiofs)', () => {
  assert.equal(kernelFeatures.erofs!.kconfig.MISC_FILESYSTEMS, 'y');
  for (const s of ['NETWORK_FILESYSTEMS', 'NET_9P', 'NET_9P_VIRTIO', '9P_FS']) assert.equal(kernelFeatures['9p']!.kconfig[s], 'y', s);
  assert.equal(kernelFeatures.virtiofs!.kconfig.FUSE_FS, 'y');
});

test('stockModulesFor maps needs to module names once each; built-in features add none', () => {
  assert.deepEqual(stockModulesFor(['virtio-blk', 'erofs', 'net', 'virtio-blk']), ['virtio_blk', 'erofs']);
  assert.deepEqual(stockModulesFor(['epoll', 'futex', 'tmpfs']), []);
  assert.throws(() => stockModulesFor(['ext5']), UsageError);
});

test('kconfigFor merges symbols across needs, sorted, with every reason', () => {
  const req = kconfigFor(['erofs', 'ext4', 'virtio-blk']);
  assert.deepEqual(req.map((r) => r.symbol), [...req.map((r) => r.symbol)].sort());
  const block = req.find((r) => r.symbol === 'BLOCK');
  assert.deepEqual(block, { symbol: 'BLOCK', value: 'y', reasons: ['kernel feature erofs', 'kernel feature ext4', 'kernel feature virtio-blk'] });
  assert.deepEqual(req.find((r) => r.symbol === 'EROFS_FS')?.reasons, ['kernel feature erofs']);
  assert.deepEqual(kconfigFor([]), []);
});

test('kconfigFor reports two features that disagree on a symbol', () => {
  kernelFeatures['test-off'] = { help: 'test only', kconfig: { BLOCK: 'n' }, stockModules: [] };
  try {
    assert.throws(() => kconfigFor(['ext4', 'test-off']), (e: Error) => e instanceof TailorError && /CONFIG_BLOCK/.test(e.message) && /test-off wants n/.test(e.message));
  } finally {
    delete kernelFeatures['test-off'];
  }
});

test("the table matches Debian's kernel: modules exist, built-in features have none, =m features list some", async (t) => {
  const [stock] = await cachedStockKernels();
  if (!stock) return t.skip('no stock kernel in the cache yet (test/e2e/kernel-stock.test.ts fetches it)');
  const config = parseKernelConfig(await readFile(join(stock.dir, stock.files.config), 'utf8'));
  const idx = await loadModuleIndex(join(stock.dir, stock.files.moduleDir), stock.files.release);
  for (const [name, f] of Object.entries(kernelFeatures)) {
    for (const m of f.stockModules) {
      assert.ok(idx.modules.has(m), `${name}: module ${m} is not in ${stock.files.release}'s modules.dep`);
      assert.ok(!idx.builtin.has(m), `${name}: module ${m} is built in, list no module`);
    }
    const wantedY = Object.entries(f.kconfig).filter(([, v]) => v === 'y').map(([s]) => s);
    for (const s of Object.keys(f.kconfig)) {
      assert.ok(config.has(s) || s in hiddenInDebianConfig, `${name}: CONFIG_${s} is not in Debian's config`);
    }
    const asModule = wantedY.filter((s) => config.get(s) === 'm');
    if (asModule.length) assert.ok(f.stockModules.length > 0, `${name}: ${asModule.join(', ')} =m in Debian but no stockModules`);
    else assert.deepEqual(f.stockModules, [], `${name}: everything is built in (=y) in Debian, yet it lists modules`);
  }
});
