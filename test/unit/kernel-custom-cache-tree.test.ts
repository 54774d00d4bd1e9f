// Build trees for incremental kernel variants (src/kernel/custom/tree.ts) and the bounded
// cache (cache.ts pruneKernels): the nearest finished tree is chosen by differing symbols,
// unfinished trees are never bases, a copy is whole or absent, a killed build's half-written
// targets are dropped, and pruning removes trees before kernels without breaking a kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cache = mkdtempSync(join(tmpdir(), 'tailor-ktree-'));
process.env.TAILOR_CACHE = cache;
process.on('exit', () => rmSync(cache, { recursive: true, force: true }));

const tree = await import('../../src/kernel/custom/tree.ts');
const { cacheUsage, kernelDir, lockFile, pruneKernels } = await import('../../src/kernel/custom/cache.ts');
const { acquireLock } = await import('../../src/kernel/custom/lock.ts');

const same = { sourceVersion: '6.1.176-1', compiler: 'gcc 12', makeVars: {} };
const hash = (c: string) => c.repeat(32);

/** A tree as a finished build leaves it: .config, auto.conf, an object with its .cmd, the marker. */
async function fakeTree(h: string, config: string, o: { finished?: boolean; compiler?: string; key?: string; mb?: number } = {}): Promise<string> {
  const dir = tree.treeDir(h);
  mkdirSync(join(dir, 'include/config'), { recursive: true });
  mkdirSync(join(dir, 'kernel'), { recursive: true });
  writeFileSync(join(dir, '.config'), config);
  writeFileSync(join(dir, 'include/config/auto.conf'), config);
  writeFileSync(join(dir, 'kernel/fork.o'), Buffer.alloc((o.mb ?? 0) * 1024 * 1024 + 16, 1));
  writeFileSync(join(dir, 'kernel/.fork.o.cmd'), `cmd_kernel/fork.o := gcc -c -o kernel/fork.o\ndeps := ${dir}/tools/objtool/x.h\n`);
  if (o.finished !== false) await tree.markFinished(dir, { ...same, compiler: o.compiler ?? same.compiler, key: o.key ?? h, fragmentHash: h });
  return dir;
}

function fakeKernel(key: string, fhash: string, createdAt: string, mb = 1): void {
  const dir = kernelDir(key);
  mkdirSync(dir, { recursive: true });
  for (const f of ['bzImage', 'vmlinux', 'config', 'System.map', 'build.log']) writeFileSync(join(dir, f), Buffer.alloc(f === 'bzImage' ? mb * 1024 * 1024 : 8, 1));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ key, fragmentHash: fhash, release: '6.1', createdAt, objects: 700, sizes: { bzImage: mb * 1024 * 1024, vmlinux: 8 }, summary: 's' }));
}

test('configDistance counts symbols whose values differ; unset and "is not set" are both n', () => {
  const a = 'CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\nCONFIG_D=0x10\n';
  assert.equal(tree.configDistance(a, a), 0);
  assert.equal(tree.configDistance(a, 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_D=0x10\n'), 0);
  assert.equal(tree.configDistance(a, 'CONFIG_A=y\nCONFIG_C=y\nCONFIG_D=0x20\n'), 3);
});

test('the nearest finished tree is the base; unfinished trees and other compilers never are', async () => {
  const want = 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y\nCONFIG_D=y\n';
  await fakeTree(hash('1'), 'CONFIG_A=y\n');
  await fakeTree(hash('2'), 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y\n');
  await fakeTree(hash('3'), want, { finished: false }); // a killed build: identical .config, still not a base
  await fakeTree(hash('4'), want, { compiler: 'gcc 13' });
  const near = await tree.nearestTree({ ...same, finalConfig: want });
  assert.equal(near?.info.fragmentHash, hash('2'));
  assert.equal(near?.differing, 1);
  assert.equal(await tree.nearestTree({ ...same, makeVars: { LLVM: '1' }, finalConfig: want }), undefined);
});

test('a seeded tree is a whole copy with the new .config, no marker, and .cmd paths pointing at itself', async () => {
  const base = (await tree.nearestTree({ ...same, finalConfig: 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y\n' }))!;
  const dest = tree.treeDir(hash('5'));
  mkdirSync(dest, { recursive: true });
  writeFileSync(join(dest, 'leftover'), 'from configure');
  const ok = await tree.seedTree(base, dest, 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y\nCONFIG_E=y\n');
  assert.equal(ok, true);
  assert.equal(existsSync(join(dest, 'leftover')), false);
  assert.equal(readFileSync(join(dest, '.config'), 'utf8'), 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y\nCONFIG_E=y\n');
  assert.ok(statSync(join(dest, '.config')).mtimeMs > statSync(join(dest, 'include/config/auto.conf')).mtimeMs, 'kbuild must see a newer .config');
  assert.equal(statSync(join(dest, 'kernel/fork.o')).mtimeMs, statSync(join(base.dir, 'kernel/fork.o')).mtimeMs, 'timestamps kept');
  assert.equal(await tree.readFinished(dest), undefined, 'a copy is not finished until its own build is');
  const cmd = readFileSync(join(dest, 'kernel/.fork.o.cmd'), 'utf8');
  assert.ok(cmd.includes(`${dest}/tools`) && !cmd.includes(base.dir), cmd);
  assert.ok(await tree.readFinished(base.dir), 'the base is untouched');
  assert.deepEqual(spawnSync('ls', [tree.treesDir()], { encoding: 'utf8' }).stdout.split('\n').filter((n) => n.includes('.seed-')), []);
});

test('a base finished again while it was copied is not used (its nonce changed)', async () => {
  const base = (await tree.nearestTree({ ...same, finalConfig: 'CONFIG_A=y\n' }))!;
  await tree.markFinished(base.dir, { ...same, key: base.info.key, fragmentHash: base.info.fragmentHash }); // rebuilt meanwhile
  const dest = tree.treeDir(hash('6'));
  assert.equal(await tree.seedTree(base, dest, 'CONFIG_A=y\n'), false);
  assert.equal(existsSync(dest), false);
});

test('a killed build: targets newer than their .cmd are removed, finished ones kept', async () => {
  const dir = tree.treeDir(hash('7'));
  mkdirSync(join(dir, 'mm'), { recursive: true });
  const old = new Date(Date.now() - 60_000);
  for (const [name, targetNewer] of [['ok.o', false], ['half.o', true]] as const) {
    writeFileSync(join(dir, 'mm', name), 'x');
    writeFileSync(join(dir, 'mm', `.${name}.cmd`), 'cmd');
    const [t, c] = targetNewer ? [new Date(), old] : [old, new Date()];
    utimesSync(join(dir, 'mm', name), t, t);
    utimesSync(join(dir, 'mm', `.${name}.cmd`), c, c);
  }
  writeFileSync(join(dir, 'mm', 'new.o'), 'no .cmd yet: kbuild rebuilds it anyway');
  assert.deepEqual(await tree.repairTree(dir), ['mm/half.o']);
  assert.ok(existsSync(join(dir, 'mm/ok.o')) && existsSync(join(dir, 'mm/new.o')) && !existsSync(join(dir, 'mm/half.o')));
});

test('a lock stays held while the make its dead owner started still runs', async () => {
  const path = lockFile(hash('8'));
  const owner = spawnSync('true').pid!;
  const orphan = spawn('sleep', ['1']);
  mkdirSync(join(cache, 'kernels'), { recursive: true });
  writeFileSync(path, `${owner}\n${orphan.pid}\n`);
  let waitedFor = 0;
  const t0 = Date.now();
  const lock = await acquireLock(path, { onWait: (pid) => (waitedFor = pid) });
  assert.equal(waitedFor, orphan.pid);
  assert.ok(Date.now() - t0 >= 500);
  await lock.addHolder(4242);
  assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n4242\n`);
  await lock.release();
});

test('prune: killed trees first, then trees before kernels; kernels stay whole; a busy tree is never touched', async () => {
  for (const h of ['1', '2', '3', '4', '5', '6', '7'].map(hash)) rmSync(tree.treeDir(h), { recursive: true, force: true });
  fakeKernel(hash('a'), hash('1'), '2026-01-01T00:00:00Z');
  fakeKernel(hash('b'), hash('2'), '2026-01-02T00:00:00Z');
  await fakeTree(hash('1'), 'CONFIG_A=y\n', { key: hash('a'), mb: 4 });
  await new Promise((r) => setTimeout(r, 20));
  await fakeTree(hash('2'), 'CONFIG_B=y\n', { key: hash('b'), mb: 4 });
  await fakeTree(hash('3'), 'CONFIG_C=y\n', { finished: false, mb: 4 }); // killed build
  await fakeTree(hash('4'), 'CONFIG_D=y\n', { finished: false, mb: 4 }); // building now
  const busy = await acquireLock(lockFile(hash('4')));
  try {
    const before = await cacheUsage();
    assert.equal(before.kernels.length, 2);
    assert.ok(before.kernels.every((e) => e.kernelBytes >= 1024 * 1024 && e.treeBytes >= 4 * 1024 * 1024), JSON.stringify(before.kernels));
    // 2 kernels (~1 MiB each) + trees 1, 2 and the busy 4 (~4 MiB each): 11 MiB leaves room for one finished tree.
    let r = await pruneKernels({ maxBytes: 11 * 1024 * 1024 });
    assert.deepEqual(r.kernels, []);
    assert.deepEqual([...r.trees].sort(), [hash('1'), hash('3')], 'the killed tree, then the oldest tree');
    assert.ok(existsSync(join(kernelDir(hash('a')), 'bzImage')), 'kernel a outlives its tree');
    assert.ok(existsSync(tree.treeDir(hash('2'))) && existsSync(tree.treeDir(hash('4'))));
    r = await pruneKernels({ maxBytes: 6 * 1024 * 1024 });
    assert.deepEqual(r.trees, [hash('2')]);
    assert.deepEqual(r.kernels.map((m) => m.key), [hash('a')], 'then the oldest kernel');
    assert.ok(existsSync(tree.treeDir(hash('4'))), 'a live build keeps its tree');
  } finally {
    await busy.release();
  }
  const r = await pruneKernels({ keep: 0, maxBytes: 0 });
  assert.deepEqual(r.kernels.map((m) => m.key), [hash('b')]);
  assert.deepEqual((await cacheUsage()).trees, []);
});
