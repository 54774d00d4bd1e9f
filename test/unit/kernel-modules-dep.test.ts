// modules.dep / softdep / alias parsing, the module closure, and the index generated from real ELF .modinfo sections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TailorError } from '../../src/errors.ts';
import { exec, hasCommand } from '../../src/util/exec.ts';
import {
  loadModuleIndex,
  moduleName,
  parseBuiltinAliases,
  parseModulesAlias,
  parseModulesDep,
  parseModulesSoftdep,
  resolveModules,
  writeModuleIndex,
} from '../../src/kernel/modules-dep.ts';
import { cachedStockKernels } from '../../src/kernel/stock.ts';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'kernel-modules');
const REL = '9.9.9-test';
const names = (files: { guestPath: string }[]) => files.map((f) => moduleName(f.guestPath));

test('moduleName strips the directory, .ko and compression suffixes, and turns dashes into underscores', () => {
  assert.equal(moduleName('kernel/arch/x86/crypto/crc32c-intel.ko'), 'crc32c_intel');
  assert.equal(moduleName('kernel/fs/erofs/erofs.ko.xz'), 'erofs');
  assert.equal(moduleName('kernel/fs/ext4/ext4.ko.zst'), 'ext4');
  assert.equal(moduleName('virtio_blk.ko'), 'virtio_blk');
});

test('parseModulesDep reads paths and dependency lists, and rejects a line without a colon', () => {
  const m = parseModulesDep('kernel/a.ko: kernel/b.ko kernel/c-d.ko\nkernel/b.ko:\n\n');
  assert.deepEqual(m.get('a'), { path: 'kernel/a.ko', deps: ['kernel/b.ko', 'kernel/c-d.ko'] });
  assert.deepEqual(m.get('b'), { path: 'kernel/b.ko', deps: [] });
  assert.equal(m.size, 2);
  assert.throws(() => parseModulesDep('kernel/a.ko\n', 'x/modules.dep'), (e: Error) => e instanceof TailorError && /x\/modules\.dep:1/.test(e.message));
});

test('softdep, alias and builtin alias parsers keep what resolution needs', () => {
  const soft = parseModulesSoftdep('# c\nsoftdep btrfs pre: sha256 pre: crypto-crc32c post: xor\nsoftdep foo-bar post: only\n');
  assert.deepEqual(soft.get('btrfs'), ['sha256', 'crypto-crc32c']);
  assert.equal(soft.has('foo_bar'), false, 'post: only entries are not pre-dependencies');
  const alias = parseModulesAlias('alias crc32c z_mod\nalias crc32c a-mod\nalias pci:v*d* x\n');
  assert.deepEqual(alias.get('crc32c'), ['a_mod', 'z_mod']);
  assert.equal(alias.size, 1, 'wildcard aliases are dropped');
  assert.deepEqual([...parseBuiltinAliases('m.alias=sha256\0m.license=GPL\0m.alias=pci:v*\0')], ['sha256']);
});

test('resolveModules lists dependencies first, each module once, with guest and host paths', async () => {
  const idx = await loadModuleIndex(fixture, REL);
  const files = resolveModules(idx, ['virtio_blk', 'virtio_mmio', 'virtio-blk']);
  assert.deepEqual(names(files), ['virtio_ring', 'virtio', 'virtio_blk', 'virtio_mmio']);
  assert.equal(files[2]!.guestPath, `/lib/modules/${REL}/kernel/drivers/block/virtio_blk.ko`);
  assert.equal(files[2]!.source, join(fixture, 'kernel/drivers/block/virtio_blk.ko'));
});

test('resolveModules loads softdep pre: modules, choosing the generic provider of an alias', async () => {
  const idx = await loadModuleIndex(fixture, REL);
  assert.deepEqual(names(resolveModules(idx, ['ext4'])), ['crc32c_generic', 'mbcache', 'jbd2', 'ext4']);
});

test('resolveModules skips built-in modules and softdeps a built-in module already provides', async () => {
  const idx = await loadModuleIndex(fixture, REL);
  assert.deepEqual(resolveModules(idx, ['8250']), []);
  // sha256 is provided by the built-in sha256_generic, so sha256_ssse3 is not loaded.
  assert.deepEqual(names(resolveModules(idx, ['btrfs'])), ['crc32c_generic', 'xor', 'libcrc32c', 'btrfs']);
});

test('resolveModules names an unknown module, a missing dependency with its chain, and a cycle', async () => {
  const idx = await loadModuleIndex(fixture, REL);
  assert.throws(() => resolveModules(idx, ['virtio_blk', 'nosuch_mod']), (e: Error) => e instanceof TailorError && /no module "nosuch_mod"/.test(e.message));
  assert.throws(() => resolveModules(idx, ['broken']), (e: Error) => e instanceof TailorError && /"missing" \(needed by broken\)/.test(e.message));
  assert.throws(() => resolveModules(idx, ['loop_a']), (e: Error) => e instanceof TailorError && /cycle: .*loop_a.*loop_b.*loop_a/.test(e.message));
});

test('loadModuleIndex without modules.dep is an error naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-nodep-'));
  try {
    await assert.rejects(loadModuleIndex(dir, REL), (e: Error) => e instanceof TailorError && e.message.includes(join(dir, 'modules.dep')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeModuleIndex builds modules.dep, softdep and alias from the .modinfo of real ELF objects', async (t) => {
  if (!(await hasCommand('gcc'))) return t.skip('gcc not installed');
  const dir = mkdtempSync(join(tmpdir(), 'tailor-modinfo-'));
  try {
    // c needs b, b needs a; d has a softdep and an alias. Module names come from the name= field.
    const mods: Record<string, string[]> = {
      'kernel/x/a.ko': ['name=a', 'depends=', 'alias=first'],
      'kernel/x/b-b.ko': ['name=b_b', 'depends=a'],
      'kernel/y/c.ko': ['name=c', 'depends=b_b'],
      'kernel/y/d.ko': ['name=d', 'depends=a', 'softdep=pre: first', 'alias=crypto-d', 'alias=pci:v*'],
    };
    for (const [path, fields] of Object.entries(mods)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      const src = join(dir, 'm.c');
      const init = fields.map((f) => JSON.stringify(f + '\0').replace(/\\u0000/g, '\\0')).join(' ');
      writeFileSync(src, `__attribute__((section(".modinfo"), used)) static const char info[] = ${init};\n`);
      await exec('gcc', ['-c', '-o', join(dir, path), src]);
    }
    assert.equal(await writeModuleIndex(dir), 4);
    const dep = readFileSync(join(dir, 'modules.dep'), 'utf8');
    assert.equal(
      dep,
      ['kernel/x/a.ko:', 'kernel/x/b-b.ko: kernel/x/a.ko', 'kernel/y/c.ko: kernel/x/b-b.ko kernel/x/a.ko', 'kernel/y/d.ko: kernel/x/a.ko', ''].join('\n'),
    );
    const idx = await loadModuleIndex(dir, REL);
    assert.deepEqual(names(resolveModules(idx, ['c', 'd'])), ['a', 'b_b', 'c', 'd']);
    assert.deepEqual(idx.softdepPre.get('d'), ['first']);
    assert.deepEqual(idx.aliases.get('crypto-d'), ['d']);
    assert.equal(idx.aliases.has('pci:v*'), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Debian's real module index: virtio_blk needs virtio and virtio_ring, ext4 gets crc32c", async (t) => {
  const [stock] = await cachedStockKernels();
  if (!stock) return t.skip('no stock kernel in the cache yet (test/e2e/kernel-stock.test.ts fetches it)');
  const idx = await loadModuleIndex(join(stock.dir, stock.files.moduleDir), stock.files.release);
  assert.ok(idx.modules.size > 1000, `only ${idx.modules.size} modules indexed`);
  const blk = names(resolveModules(idx, ['virtio_blk']));
  assert.deepEqual(blk.slice(-1), ['virtio_blk']);
  for (const dep of ['virtio', 'virtio_ring']) assert.ok(blk.indexOf(dep) >= 0 && blk.indexOf(dep) < blk.indexOf('virtio_blk'), `${dep} before virtio_blk in ${blk}`);
  const ext4 = names(resolveModules(idx, ['ext4']));
  assert.ok(ext4.includes('crc32c_generic') && ext4.includes('jbd2') && ext4.at(-1) === 'ext4', ext4.join(' '));
  assert.equal(new Set(ext4).size, ext4.length, 'no duplicates');
  // Every dependency of every module is itself in the index, and comes before it.
  for (const [name] of idx.modules) {
    const order = names(resolveModules(idx, [name]));
    assert.equal(order.at(-1), name);
  }
});
