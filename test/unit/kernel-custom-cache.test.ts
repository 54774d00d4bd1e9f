// The custom-kernel cache bookkeeping (src/kernel/custom/cache.ts, lock.ts, progress.ts):
// build locks that wait for a live holder and take over a dead one, listing only
// complete kernels, pruning, and the progress line counter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

const cache = mkdtempSync(join(tmpdir(), 'tailor-kcache-'));
process.env.TAILOR_CACHE = cache;
process.on('exit', () => rmSync(cache, { recursive: true, force: true }));

const { acquireLock } = await import('../../src/kernel/custom/lock.ts');
const { listKernels, pruneKernels, kernelDir, lookupFragment, rememberFragment, fragmentHash, kernelKey } = await import('../../src/kernel/custom/cache.ts');
const { createProgress, isCompileLine } = await import('../../src/kernel/custom/progress.ts');

test('a lock held by a dead process is stale and taken over at once', async () => {
  const dead = spawnSync('true').pid!;
  const path = join(cache, 'locks', 'stale.lock');
  mkdirSync(join(cache, 'locks'), { recursive: true });
  writeFileSync(path, `${dead}\n`);
  let waited = false;
  const lock = await acquireLock(path, { onWait: () => (waited = true) });
  assert.equal(waited, false);
  assert.equal(readFileSync(path, 'utf8').trim(), String(process.pid));
  await lock.release();
  assert.equal(existsSync(path), false);
});

test('a lock held by a live process is waited for, then taken', async () => {
  const holder = spawn('sleep', ['1']);
  const path = join(cache, 'locks', 'live.lock');
  mkdirSync(join(cache, 'locks'), { recursive: true });
  writeFileSync(path, `${holder.pid}\n`);
  let waitedFor = 0;
  const t0 = Date.now();
  const exited = new Promise((r) => holder.on('exit', r));
  const lock = await acquireLock(path, { onWait: (pid) => (waitedFor = pid) });
  await exited;
  assert.equal(waitedFor, holder.pid);
  assert.ok(Date.now() - t0 >= 800, `waited ${Date.now() - t0} ms`);
  await lock.release();
});

function fakeKernel(key: string, fhash: string, createdAt: string): void {
  const dir = kernelDir(key);
  mkdirSync(dir, { recursive: true });
  for (const f of ['bzImage', 'vmlinux', 'config', 'System.map', 'build.log']) writeFileSync(join(dir, f), 'x');
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ key, fragmentHash: fhash, release: '6.1', createdAt, objects: 700, sizes: { bzImage: 1, vmlinux: 1 }, summary: 's' }));
}

test('listing shows complete kernels newest first, never temp folders; prune keeps the N newest', async () => {
  const a = 'a'.repeat(32), b = 'b'.repeat(32), c = 'c'.repeat(32);
  fakeKernel(a, '1'.repeat(32), '2026-01-01T00:00:00Z');
  fakeKernel(b, '2'.repeat(32), '2026-01-03T00:00:00Z');
  fakeKernel(c, '3'.repeat(32), '2026-01-02T00:00:00Z');
  const deadPid = spawnSync('true').pid!;
  mkdirSync(join(cache, 'kernels', `.tmp-${'d'.repeat(32)}-${deadPid}`), { recursive: true }); // a killed build's leftovers
  await rememberFragment('1'.repeat(32), a);
  assert.deepEqual((await listKernels()).map((m) => m.key), [b, c, a]);
  assert.equal((await lookupFragment('1'.repeat(32)))?.key, a);
  const removed = await pruneKernels({ keep: 1 });
  assert.deepEqual(removed.kernels.map((m) => m.key).sort(), [a, c]);
  assert.deepEqual((await listKernels()).map((m) => m.key), [b]);
  assert.equal(await lookupFragment('1'.repeat(32)), undefined);
  writeFileSync(join(cache, 'kernels', `.lock-${'e'.repeat(32)}`), `${spawnSync('true').pid}\n`); // a killed build's lock
  await pruneKernels({ keep: 0, maxBytes: 0 });
  assert.deepEqual(await listKernels(), []);
  assert.equal(existsSync(join(cache, 'kernels', `.tmp-${'d'.repeat(32)}-${deadPid}`)), false);
  assert.equal(existsSync(join(cache, 'kernels', `.lock-${'e'.repeat(32)}`)), false);
});

test('cache keys change with the source version, the .config, the compiler and make variables', () => {
  const k = kernelKey('6.1.192-2', 'CONFIG_X=y\n', 'gcc 12', {});
  assert.notEqual(k, kernelKey('6.1.193-1', 'CONFIG_X=y\n', 'gcc 12', {}));
  assert.notEqual(k, kernelKey('6.1.192-2', 'CONFIG_X=n\n', 'gcc 12', {}));
  assert.notEqual(k, kernelKey('6.1.192-2', 'CONFIG_X=y\n', 'gcc 13', {}));
  assert.notEqual(k, kernelKey('6.1.192-2', 'CONFIG_X=y\n', 'gcc 12', { KCFLAGS: '-O3' }));
  assert.equal(k, kernelKey('6.1.192-2', 'CONFIG_X=y\n', 'gcc 12', {}));
  assert.match(fragmentHash('v', 'f', 'c', {}), /^[0-9a-f]{32}$/);
});

test('progress counts compiled objects from make lines and prints a final line off a terminal', () => {
  assert.equal(isCompileLine('  CC      kernel/fork.o'), true);
  assert.equal(isCompileLine('  AS      arch/x86/entry/entry_64.o'), true);
  assert.equal(isCompileLine('  LD      vmlinux.o'), false);
  assert.equal(isCompileLine('  CC      scripts/mod/empty.o') && isCompileLine('  AR      built-in.a'), false);
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString()));
  const p = createProgress('kernel', 3, out as unknown as NodeJS.WriteStream);
  for (const l of ['  CC      a.o', '  LD      x', '  CC      b.o']) p.line(l);
  p.done();
  assert.equal(p.objects, 2);
  assert.match(text, /kernel: 2 objects compiled in 0:0\d\n$/);
});
