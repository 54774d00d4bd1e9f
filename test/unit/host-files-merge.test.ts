// Host references and app= in the image plan: closures merged into the manifest, attribution, conflicts.
// Real host binaries and real module folders (written to a temp dir); no QEMU.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config/resolve.ts';
import { TailorError, UsageError } from '../../src/errors.ts';
import { addHostFiles, hostReferences } from '../../src/image/host-files.ts';
import { buildName } from '../../src/image/index.ts';
import { appSpec } from '../../src/modules/app.ts';
import { builtinModuleDir, planModules, selectModules } from '../../src/modules/index.ts';
import type { ManifestEntry, ModulePlan } from '../../src/modules/types.ts';
import { exec, hasCommand } from '../../src/util/exec.ts';

let work: string;
const savedCache = process.env.TAILOR_CACHE;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'tailor-host-files-'));
  process.env.TAILOR_CACHE = join(work, 'cache'); // generated /etc files go here, not into the user's cache
});
after(() => {
  if (savedCache === undefined) delete process.env.TAILOR_CACHE;
  else process.env.TAILOR_CACHE = savedCache;
  rmSync(work, { recursive: true, force: true });
});

/** A module folder with the given usr.manifest lines and extra files. */
function moduleDir(name: string, manifest: string[], files: Record<string, string> = {}, yaml = `description: ${name}\n`): string {
  const dir = join(work, 'mods', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'module.yaml'), yaml);
  writeFileSync(join(dir, 'usr.manifest'), `[manifest]\n${manifest.join('\n')}\n`);
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

async function plan(args: string[]): Promise<ModulePlan> {
  const config = resolveConfig(args, { cwd: work });
  const selection = selectModules(config);
  const buildRoot = join(work, 'build', '.modules');
  return addHostFiles({
    plan: planModules(selection, buildRoot),
    modules: selection.order,
    moduleBuildRoot: buildRoot,
    app: appSpec(config),
    extraLibs: config.options.extra_libs as string[],
  });
}

const at = (p: ModulePlan, path: string): ManifestEntry | undefined => p.manifest.find((e) => e.guestPath === path);

test('a self-linked host program brings its closure, attributed to its module; the plain copy is replaced', async () => {
  const dir = moduleDir('lsmod', ['/usr/bin/ls: ->/usr/bin/ls', '/etc/motd: ${MODULE_DIR}/motd'], { motd: 'hi\n' }, 'description: ls\nrun: /usr/bin/ls /\n');
  const p = await plan(['image=empty', `modules=${dir}`]);
  assert.deepEqual(at(p, '/usr/bin/ls'), { guestPath: '/usr/bin/ls', source: { kind: 'file', path: realpathSync('/usr/bin/ls') }, module: 'lsmod' });
  for (const path of ['/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libselinux.so.1', '/etc/passwd', '/etc/nsswitch.conf']) {
    assert.equal(at(p, path)?.module, 'lsmod', `${path} missing or not attributed: ${JSON.stringify(at(p, path))}`);
  }
  assert.equal(at(p, '/etc/motd')?.source.kind, 'file');
  assert.equal(p.command, '/usr/bin/ls /');
  // Parents are never entries: the rootfs stage makes /bin, /lib, /usr real directories.
  assert.ok(!p.manifest.some((e) => ['/bin', '/lib', '/lib64', '/usr', '/usr/bin'].includes(e.guestPath)));
  const paths = p.manifest.map((e) => e.guestPath);
  assert.deepEqual(paths, [...paths].sort(), 'manifest sorted by guest path');
});

test('/bin/busybox on a merged-/usr host: a link in /bin to the real file in /usr/bin', async (t) => {
  if (!existsSync('/bin/busybox')) return t.skip('busybox-static is not installed (apt-get install -y busybox-static)');
  const p = await plan(['image=cli']);
  const real = realpathSync('/bin/busybox');
  if (real === '/bin/busybox') {
    assert.equal(at(p, '/bin/busybox')?.source.kind, 'file');
  } else {
    assert.deepEqual(at(p, '/bin/busybox')?.source, { kind: 'symlink', target: real });
    assert.deepEqual(at(p, real)?.source, { kind: 'file', path: real });
  }
  assert.deepEqual(at(p, '/bin/sh')?.source, { kind: 'symlink', target: 'busybox' });
  assert.equal(p.command, '/bin/sh');
});

test('a module file that differs from a closure file at the same path is an error naming both', async () => {
  const dir = moduleDir('fakelibc', ['/lib/x86_64-linux-gnu/libc.so.6: ${MODULE_DIR}/libc.so.6'], { 'libc.so.6': 'not a libc\n' });
  const ls = moduleDir('lsmod2', ['/usr/bin/ls: ->/usr/bin/ls']);
  await assert.rejects(plan(['image=empty', `modules=${dir},${ls}`]), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.match(err.message, /two different files for \/lib\/x86_64-linux-gnu\/libc\.so\.6/);
    assert.match(err.message, /fakelibc's usr\.manifest/);
    assert.match(err.message, /lsmod2: library needed by \/usr\/bin\/ls/);
    return true;
  });
});

test("a module's own /etc/hosts replaces the generated one, whatever the module order", async () => {
  const own = moduleDir('hosts', ['/etc/hosts: ${MODULE_DIR}/hosts'], { hosts: '10.0.0.1 db\n' });
  const ls = moduleDir('lsmod3', ['/usr/bin/ls: ->/usr/bin/ls']);
  for (const mods of [`${own},${ls}`, `${ls},${own}`]) {
    const p = await plan(['image=empty', `modules=${mods}`]);
    assert.deepEqual(at(p, '/etc/hosts'), { guestPath: '/etc/hosts', source: { kind: 'file', path: join(own, 'hosts') }, module: 'hosts' });
    assert.equal(at(p, '/etc/passwd')?.module, 'lsmod3');
  }
});

test('libz (a link to the real file) and a program needing libz (a file at the link path) merge into one file', async (t) => {
  if (!existsSync('/usr/bin/java')) return t.skip('no /usr/bin/java (a small program that needs libz) on this host: apt-get install -y openjdk-17-jre-headless');
  const launcher = realpathSync('/usr/bin/java');
  const java = moduleDir('launcher', [`${launcher}: ->${launcher}`]);
  const p = await plan(['image=libz', `modules=${java}`]);
  const libz = at(p, '/lib/x86_64-linux-gnu/libz.so.1')!;
  assert.equal(libz.source.kind, 'file', JSON.stringify(libz));
  assert.equal(realpathSync((libz.source as { path: string }).path), realpathSync('/lib/x86_64-linux-gnu/libz.so.1'));
});

test('a module of shared libraries is loaded in order into one link map (libjava finds the libjvm listed before it)', async (t) => {
  const j = '/usr/lib/jvm/java-17-openjdk-amd64';
  if (!existsSync(`${j}/lib/server/libjvm.so`)) return t.skip('OpenJDK 17 is not installed (apt-get install -y openjdk-17-jre-headless)');
  const dir = moduleDir('jvmlibs', [`${j}/lib/server/libjvm.so: ->${j}/lib/server/libjvm.so`, `${j}/lib/libjava.so: ->${j}/lib/libjava.so`]);
  const refs = await hostReferences(selectModules(resolveConfig(['image=empty', `modules=${dir}`], { cwd: work })).order, join(work, 'b'));
  assert.deepEqual(refs.map((r) => [r.path, r.program]), [[`${j}/lib/server/libjvm.so`, false], [`${j}/lib/libjava.so`, false]]);
  const p = await plan(['image=empty', `modules=${dir}`]);
  assert.equal(at(p, `${j}/lib/libjava.so`)?.module, 'jvmlibs');
  assert.equal(at(p, '/lib/x86_64-linux-gnu/libstdc++.so.6')?.module, 'jvmlibs', 'libjvm needs libstdc++');
  // Alone, libjava.so cannot find libjvm.so ($ORIGIN is lib/, libjvm is in lib/server): the error names both.
  const alone = moduleDir('javaonly', [`${j}/lib/libjava.so: ->${j}/lib/libjava.so`]);
  await assert.rejects(plan(['image=empty', `modules=${alone}`]), /module javaonly: libjvm\.so \(needed by .*libjava\.so\)/);
});

test('app= is an implicit module named after the binary; alone it replaces the default image', async () => {
  const config = resolveConfig(['app=/usr/bin/ls -l /'], { cwd: work });
  assert.equal(buildName(config), 'ls');
  const p = await plan(['app=/usr/bin/ls -l /']);
  assert.deepEqual(p.order.map((m) => m.name), ['ls']);
  assert.equal(p.command, '/usr/bin/ls -l /');
  assert.equal(at(p, '/usr/bin/ls')?.module, 'ls');
  assert.equal(at(p, '/hello'), undefined, 'native-example (the default image) is left out');

  const both = await plan(['image=ca-certificates', 'app=/usr/bin/ls']);
  assert.deepEqual(both.order.map((m) => m.name), ['ca-certificates', 'ls']);
  assert.equal(both.command, '/usr/bin/ls');
  assert.equal(buildName(resolveConfig(['image=native-example', 'app=/usr/bin/ls'], { cwd: work })), 'native-example+ls');
});

test('app= errors: relative path, script, name clash; extra_libs= without a program', async () => {
  await assert.rejects(plan(['app=ls']), (e: unknown) => e instanceof UsageError && /app=ls: "ls" is not an absolute path/.test(e.message) && /command -v ls/.test(e.hint ?? ''));
  const script = join(work, 'script.sh');
  writeFileSync(script, '#!/bin/sh\necho hi\n');
  await assert.rejects(plan([`app=${script}`]), /is a script \(#!\/bin\/sh\)/);
  const clash = moduleDir('ls', ['/x: ${MODULE_DIR}/x'], { x: 'x' });
  await assert.rejects(plan([`modules=${clash}`, 'image=empty', 'app=/usr/bin/ls']), /a module named ls is already in the image/);
  await assert.rejects(plan(['image=empty', 'extra_libs=libz.so.1']), /extra_libs=libz\.so\.1: no host program in the image/);
});

test('extra_libs= adds a dlopened library and its closure to app=', async () => {
  const p = await plan(['app=/usr/bin/ls', 'extra_libs=libz.so.1']);
  assert.equal(at(p, '/lib/x86_64-linux-gnu/libz.so.1')?.module, 'ls');
  const without = await plan(['app=/usr/bin/ls']);
  assert.equal(at(without, '/lib/x86_64-linux-gnu/libz.so.1'), undefined);
});

test('a library missing at build time fails with its name, the binary and the module', async (t) => {
  if (!(await hasCommand('gcc'))) return t.skip('gcc is not installed');
  const d = join(work, 'gone');
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'gone.c'), 'int gone(void) { return 7; }\n');
  writeFileSync(join(d, 'main.c'), 'int gone(void);\nint main(void) { return gone(); }\n');
  await exec('gcc', ['-shared', '-fPIC', '-o', join(d, 'libgone.so'), join(d, 'gone.c')]);
  await exec('gcc', ['-o', join(d, 'prog'), join(d, 'main.c'), `-L${d}`, '-lgone', `-Wl,-rpath,${d}`]);
  assert.ok((await plan([`app=${d}/prog`])).manifest.some((e) => e.guestPath === join(d, 'libgone.so')), 'found while it exists');
  rmSync(join(d, 'libgone.so'));
  const m = moduleDir('goneapp', [`${d}/prog: ->${d}/prog`]);
  await assert.rejects(plan(['image=empty', `modules=${m}`]), (err: unknown) => {
    assert.ok(err instanceof TailorError);
    assert.match(err.message, new RegExp(`^module goneapp: libgone\\.so \\(needed by ${d}/prog\\) not found in`));
    assert.match(err.hint ?? '', /apt-file search libgone\.so|extra_libs=/);
    return true;
  });
});

test('catalog modules resolve on this host: each has a description, and their plans close over the host files', async (t) => {
  for (const name of ['cli', 'libz', 'ca-certificates', 'node', 'openjdk']) {
    assert.ok(existsSync(join(builtinModuleDir, name, 'module.yaml')), `${name} module`);
  }
  const ca = await plan(['image=ca-certificates']);
  assert.deepEqual(at(ca, '/etc/ssl/certs/ca-certificates.crt')?.source, { kind: 'file', path: realpathSync('/etc/ssl/certs/ca-certificates.crt') });
  if (!existsSync('/usr/bin/node')) return t.skip('nodejs is not installed');
  const node = await plan(['image=node']);
  assert.deepEqual(node.order.map((m) => m.name), ['ca-certificates', 'node']);
  assert.equal(at(node, '/usr/bin/node')?.module, 'node');
  assert.equal(at(node, '/lib/x86_64-linux-gnu/libstdc++.so.6')?.module, 'node');
});
