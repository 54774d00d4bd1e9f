// hostClosure's library search on gcc-built programs, each case checked against the real loader by running the program.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, hasCommand } from '../../src/util/exec.ts';
import { TailorError } from '../../src/errors.ts';
import { hostClosure } from '../../src/modules/host-closure.ts';
import { parseLdCache } from '../../src/elf/ld-so-cache.ts';

let D = '';
let haveGcc = false;
const savedCache = process.env.TAILOR_CACHE;

const cc = (args: string[]) => exec('gcc', args);
/** Run a built program; its exit code says which libtb.so.1 the real loader picked (1: from x/, 2: from y/). */
const run = (prog: string) => exec(prog, [], { allowFailure: true, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });

before(async () => {
  haveGcc = await hasCommand('gcc');
  D = mkdtempSync(join(tmpdir(), 'tailor-closure-'));
  process.env.TAILOR_CACHE = join(D, 'cache');
  if (!haveGcc) return;
  for (const d of ['x', 'y', 'z', 'm', 'c', 'o/lib', 'l/lib/x86_64-linux-gnu']) mkdirSync(join(D, d), { recursive: true });
  writeFileSync(join(D, 'b1.c'), 'int b(void) { return 1; }\n');
  writeFileSync(join(D, 'b2.c'), 'int b(void) { return 2; }\n');
  writeFileSync(join(D, 'a.c'), 'int b(void);\nint a(void) { return b(); }\n');
  writeFileSync(join(D, 'main-a.c'), 'int a(void);\nint main(void) { return a(); }\n');
  writeFileSync(join(D, 'main-b.c'), 'int b(void);\nint main(void) { return b(); }\n');
  const so = (out: string, src: string, soname: string, extra: string[] = []) =>
    cc(['-shared', '-fPIC', `-Wl,-soname,${soname}`, '-o', join(D, out), join(D, src), ...extra]);
  await so('x/libtb.so.1', 'b1.c', 'libtb.so.1');
  await so('y/libtb.so.1', 'b2.c', 'libtb.so.1');
  await so('x/libta.so.1', 'a.c', 'libta.so.1', [`-L${D}/x`, '-l:libtb.so.1']);
  await so('z/libta.so.1', 'a.c', 'libta.so.1', [`-L${D}/x`, '-l:libtb.so.1', '-Wl,--enable-new-dtags', `-Wl,-rpath,${D}/y`]);
  // A libtb.so.1 for another machine (e_machine patched to AArch64): ld.so skips it and keeps searching.
  const foreign = readFileSync(join(D, 'x/libtb.so.1'));
  foreign.writeUInt16LE(183, 18);
  writeFileSync(join(D, 'm/libtb.so.1'), foreign);
  copyFileSync(join(D, 'x/libtb.so.1'), join(D, 'o/lib/libtb.so.1'));
  copyFileSync(join(D, 'y/libtb.so.1'), join(D, 'c/libtb.so.1'));
  copyFileSync(join(D, 'x/libtb.so.1'), join(D, 'l/lib/x86_64-linux-gnu/libtb.so.1'));
});

after(() => {
  if (savedCache === undefined) delete process.env.TAILOR_CACHE;
  else process.env.TAILOR_CACHE = savedCache;
  rmSync(D, { recursive: true, force: true });
});

async function prog(name: string, main: string, lib: string, libDir: string, linkFlags: string[]): Promise<string> {
  const out = join(D, name);
  await cc(['-o', out, join(D, main), `-L${D}/${libDir}`, `-l:${lib}`, ...linkFlags]);
  return out;
}
const runpath = (dirs: string) => ['-Wl,--enable-new-dtags', `-Wl,-rpath,${dirs}`];
const rpath = (dirs: string) => ['-Wl,--disable-new-dtags', `-Wl,-rpath,${dirs}`];
const paths = async (bin: string) => (await hostClosure([bin])).files.map((f) => f.guestPath);

test('$ORIGIN/lib in RUNPATH resolves next to the binary; deleting the library fails naming it and the binary', async (t) => {
  if (!haveGcc) return t.skip('gcc not installed');
  const bin = await prog('o/prog', 'main-b.c', 'libtb.so.1', 'x', runpath('$ORIGIN/lib'));
  assert.equal((await run(bin)).code, 1, 'the real loader runs it');
  const { files } = await hostClosure([bin]);
  const lib = files.find((f) => f.guestPath === join(D, 'o/lib/libtb.so.1'));
  assert.ok(lib, 'library at $ORIGIN/lib');
  assert.match(lib.reason, /DT_RUNPATH/);

  rmSync(join(D, 'o/lib/libtb.so.1'));
  assert.match((await run(bin)).stderr, /libtb\.so\.1/, 'the real loader fails too');
  await assert.rejects(hostClosure([bin]), (e: Error) => {
    assert.ok(e instanceof TailorError);
    assert.match(e.message, /^libtb\.so\.1 \(needed by .*\/o\/prog\) not found in /);
    assert.ok(e.message.includes(join(D, 'o/lib')), 'names the directory searched');
    assert.match(e.hint ?? '', /apt-file search libtb\.so\.1.*extra_libs=/);
    return true;
  });
});

test('DT_RPATH of the executable also serves its libraries\' dependencies', async (t) => {
  if (!haveGcc) return t.skip('gcc not installed');
  const bin = await prog('p-rpath', 'main-a.c', 'libta.so.1', 'x', rpath(`${D}/x`));
  assert.equal((await run(bin)).code, 1);
  const p = await paths(bin);
  assert.ok(p.includes(join(D, 'x/libta.so.1')) && p.includes(join(D, 'x/libtb.so.1')));
});

test('DT_RUNPATH of the executable does not serve indirect dependencies', async (t) => {
  if (!haveGcc) return t.skip('gcc not installed');
  const bin = await prog('p-runpath', 'main-a.c', 'libta.so.1', 'x', runpath(`${D}/x`));
  assert.notEqual((await run(bin)).code, 1, 'the real loader cannot find libtb.so.1');
  await assert.rejects(hostClosure([bin]), (e: Error) =>
    e instanceof TailorError && e.message.startsWith(`libtb.so.1 (needed by ${D}/x/libta.so.1, loaded for ${bin})`));
});

test('a library with DT_RUNPATH ignores the DT_RPATH chain above it', async (t) => {
  if (!haveGcc) return t.skip('gcc not installed');
  // RPATH z:x finds z/libta (RUNPATH y). libtb: RPATH would give x/ (exit 1); RUNPATH of libta gives y/ (exit 2).
  const bin = await prog('p-mixed', 'main-a.c', 'libta.so.1', 'z', rpath(`${D}/z:${D}/x`));
  assert.equal((await run(bin)).code, 2, 'the real loader takes libtb from y/');
  const p = await paths(bin);
  assert.ok(p.includes(join(D, 'z/libta.so.1')));
  assert.ok(p.includes(join(D, 'y/libtb.so.1')));
  assert.ok(!p.includes(join(D, 'x/libtb.so.1')));
});

test('DT_RPATH is searched before DT_RUNPATH-less defaults and in order; $LIB expands to lib/x86_64-linux-gnu', async (t) => {
  if (!haveGcc) return t.skip('gcc not installed');
  const order = await prog('p-order', 'main-b.c', 'libtb.so.1', 'x', rpath(`${D}/y:${D}/x`));
  assert.equal((await run(order)).code, 2);
  assert.ok((await paths(order)).includes(join(D, 'y/libtb.so.1')));
  const lib = await prog('l/prog', 'main-b.c', 'libtb.so.1', 'x', runpath('$ORIGIN/$LIB'));
  assert.equal((await run(lib)).code, 1);
  assert.ok((await paths(lib)).includes(join(D, 'l/lib/x86_64-linux-gnu/libtb.so.1')));
});

test('a library of the wrong machine is skipped like ld.so does', async (t) => {
  if (!haveGcc) return t.skip('gcc not installed');
  const bin = await prog('p-foreign', 'main-b.c', 'libtb.so.1', 'x', runpath(`${D}/m:${D}/y`));
  assert.equal((await run(bin)).code, 2, 'the real loader skips m/ and takes y/');
  const p = await paths(bin);
  assert.ok(p.includes(join(D, 'y/libtb.so.1')));
  assert.ok(!p.includes(join(D, 'm/libtb.so.1')));
});

test('a library found through ld.so.cache outside the default dirs is placed where the guest loader (no cache) looks', async (t) => {
  if (!haveGcc) return t.skip('gcc not installed');
  const ldconfig = ['/usr/sbin/ldconfig', '/sbin/ldconfig'].find((p) => existsSync(p));
  if (!ldconfig) return t.skip('ldconfig not found');
  // A real cache written by ldconfig that also lists D/c (like /usr/local/lib in /etc/ld.so.conf).
  writeFileSync(join(D, 'ld.so.conf'), `${D}/c\n`);
  await exec(ldconfig, ['-X', '-C', join(D, 'ld.so.cache'), '-f', join(D, 'ld.so.conf')]);
  const listed = (await exec(ldconfig, ['-p', '-C', join(D, 'ld.so.cache')])).stdout;
  assert.match(listed, new RegExp(`libtb\\.so\\.1 \\(libc6,x86-64\\) => ${D}/c/libtb\\.so\\.1`));
  const cache = parseLdCache(readFileSync(join(D, 'ld.so.cache')));
  assert.equal(cache.entries.length, Number(/^(\d+) libs found/m.exec(listed)?.[1]));

  const bin = await prog('p-cache', 'main-b.c', 'libtb.so.1', 'x', []);
  await assert.rejects(hostClosure([bin]), /libtb\.so\.1 \(needed by/, 'the host cache does not know D/c');
  const { files } = await hostClosure([bin], { ldCachePath: join(D, 'ld.so.cache') });
  const lib = files.find((f) => f.hostPath === join(D, 'c/libtb.so.1'));
  assert.equal(lib?.guestPath, '/usr/lib/x86_64-linux-gnu/libtb.so.1');
  assert.match(lib.reason, /ld\.so\.cache/);
  assert.ok(files.some((f) => f.guestPath === '/lib/x86_64-linux-gnu/libc.so.6'), 'libraries in default dirs keep their path');
});

test('extra_libs= may name a directory: libraries found there go to a default directory of the guest', async (t) => {
  if (!haveGcc) return t.skip('gcc not installed');
  const bin = await prog('p-extra', 'main-b.c', 'libtb.so.1', 'x', []);
  await assert.rejects(hostClosure([bin]), (e: Error) => e instanceof TailorError && /add its directory with extra_libs=/.test((e as TailorError).hint ?? ''));
  const { files } = await hostClosure([bin], { extraLibs: [`${D}/y/`] });
  const lib = files.find((f) => f.hostPath === join(D, 'y/libtb.so.1'));
  assert.equal(lib?.guestPath, '/usr/lib/x86_64-linux-gnu/libtb.so.1');
  assert.match(lib.reason, /extra_libs directory/);
});
