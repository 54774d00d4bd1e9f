// Programs for another architecture from its Debian packages (src/modules/package-tree.ts,
// src/image/foreign-programs.ts): apt's and dpkg's output parsed from fixed text; the tree built
// with a fake apt-get and dpkg on PATH (real .deb files made with dpkg-deb -b, unpacked with the
// real dpkg-deb), cached, and nothing left behind when a download fails; the library closure
// resolved inside a tree of cross-compiled arm64 files, whose absolute symlinks mean the tree's
// own root.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { targetArches } from '../../src/config/arch.ts';
import { TailorError } from '../../src/errors.ts';
import { hostPathIn, realpathIn } from '../../src/util/rooted-path.ts';
import { hostClosure } from '../../src/modules/host-closure.ts';
import { foreignPrograms } from '../../src/image/foreign-programs.ts';
import { addHostFiles } from '../../src/image/host-files.ts';
import type { ModuleDefinition } from '../../src/modules/module-file.ts';
import {
  locateInTree,
  packageTree,
  packageTreeKey,
  parseDpkgSearch,
  parsePrintUris,
  usrMergeTwins,
  type DebFile,
} from '../../src/modules/package-tree.ts';

const arm64 = targetArches.aarch64;

describe('parsing apt and dpkg', () => {
  test('apt-get --print-uris: name, version (epoch decoded), architecture, file and size; other lines ignored', () => {
    const out = [
      "'http://deb.debian.org/debian/pool/main/g/glibc/libc6_2.36-9%2bdeb12u14_arm64.deb' libc6_2.36-9+deb12u14_arm64.deb 2324660 MD5Sum:96654eb25919c6f15deb9848c0f06601",
      "'http://deb.debian.org/debian-security/pool/updates/main/r/redis/redis-tools_5%3a7.0.15-1~deb12u10_arm64.deb' redis-tools_5%3a7.0.15-1~deb12u10_arm64.deb 899140 ",
      "'http://deb.debian.org/debian/pool/main/a/adduser/adduser_3.134_all.deb' adduser_3.134_all.deb 186124 SHA256:0a",
      'Reading package lists...',
      '',
    ].join('\n');
    assert.deepEqual(parsePrintUris(out), [
      { name: 'libc6', version: '2.36-9+deb12u14', arch: 'arm64', file: 'libc6_2.36-9+deb12u14_arm64.deb', size: 2324660 },
      { name: 'redis-tools', version: '5:7.0.15-1~deb12u10', arch: 'arm64', file: 'redis-tools_5%3a7.0.15-1~deb12u10_arm64.deb', size: 899140 },
      { name: 'adduser', version: '3.134', arch: 'all', file: 'adduser_3.134_all.deb', size: 186124 },
    ]);
  });

  test('dpkg -S: owners per path, architecture qualifiers dropped, shared folders, diversions skipped', () => {
    const out = [
      'redis-server: /usr/bin/redis-server',
      'libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6',
      'diversion by dash from: /bin/sh',
      'diversion by dash to: /bin/sh.distrib',
      'dash: /bin/sh',
      'libssl3:amd64, libssl-dev:amd64: /usr/lib/x86_64-linux-gnu',
    ].join('\n');
    const owners = parseDpkgSearch(out);
    assert.deepEqual(owners.get('/usr/bin/redis-server'), ['redis-server']);
    assert.deepEqual(owners.get('/lib/x86_64-linux-gnu/libc.so.6'), ['libc6']);
    assert.deepEqual(owners.get('/bin/sh'), ['dash']);
    assert.deepEqual(owners.get('/usr/lib/x86_64-linux-gnu'), ['libssl3', 'libssl-dev']);
    assert.equal(owners.size, 4);
  });

  test('merged-/usr twins: /usr/bin/x and /bin/x, /usr/lib/... and /lib/..., nothing else', () => {
    assert.deepEqual(usrMergeTwins('/usr/bin/redis-server'), ['/usr/bin/redis-server', '/bin/redis-server']);
    assert.deepEqual(usrMergeTwins('/lib/aarch64-linux-gnu/libc.so.6'), ['/lib/aarch64-linux-gnu/libc.so.6', '/usr/lib/aarch64-linux-gnu/libc.so.6']);
    assert.deepEqual(usrMergeTwins('/usr/sbin/nginx'), ['/usr/sbin/nginx', '/sbin/nginx']);
    assert.deepEqual(usrMergeTwins('/etc/nginx/mime.types'), ['/etc/nginx/mime.types']);
    assert.deepEqual(usrMergeTwins('/usr/share/doc/x'), ['/usr/share/doc/x']);
  });

  test('the tree key is the exact file list: order does not matter, a version does', () => {
    const a: DebFile = { name: 'a', version: '1', arch: 'arm64', file: 'a_1_arm64.deb', size: 1 };
    const b: DebFile = { name: 'b', version: '2', arch: 'all', file: 'b_2_all.deb', size: 2 };
    assert.equal(packageTreeKey([a, b]), packageTreeKey([b, a]));
    assert.notEqual(packageTreeKey([a, b]), packageTreeKey([a, { ...b, version: '3', file: 'b_3_all.deb' }]));
  });
});

describe('paths inside a tree', () => {
  let root = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'tailor-rooted-'));
    mkdirSync(join(root, 'lib', 'aarch64-linux-gnu'), { recursive: true });
    mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
    writeFileSync(join(root, 'lib', 'aarch64-linux-gnu', 'ld-linux-aarch64.so.1'), 'loader');
    symlinkSync('/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1', join(root, 'lib', 'ld-linux-aarch64.so.1'));
    writeFileSync(join(root, 'usr', 'bin', 'prog'), 'prog');
    symlinkSync('prog', join(root, 'usr', 'bin', 'alias'));
    symlinkSync('../../../../../../usr/bin/prog', join(root, 'usr', 'bin', 'up'));
    symlinkSync('loop2', join(root, 'usr', 'bin', 'loop1'));
    symlinkSync('loop1', join(root, 'usr', 'bin', 'loop2'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('an absolute symlink means the tree root; relative ones and .. stay inside it', async () => {
    assert.equal(await realpathIn(root, '/lib/ld-linux-aarch64.so.1'), '/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1');
    assert.equal(await realpathIn(root, '/usr/bin/alias'), '/usr/bin/prog');
    assert.equal(await realpathIn(root, '/usr/bin/up'), '/usr/bin/prog');
    assert.equal(hostPathIn(root, '/../etc/passwd'), join(root, 'etc', 'passwd'));
  });

  test('a missing file is ENOENT, a symlink loop ELOOP', async () => {
    await assert.rejects(realpathIn(root, '/usr/bin/none'), { code: 'ENOENT' });
    await assert.rejects(realpathIn(root, '/usr/bin/loop1'), { code: 'ELOOP' });
  });

  test("a host path is found under the target's multiarch folder and merged-/usr twin", async (t) => {
    if (process.arch !== 'x64') return t.skip('the translation is checked from an x86-64 host');
    mkdirSync(join(root, 'bin'), { recursive: true });
    writeFileSync(join(root, 'bin', 'busybox'), 'bb');
    writeFileSync(join(root, 'lib', 'aarch64-linux-gnu', 'libz.so.1'), 'z');
    assert.equal(await locateInTree(root, '/usr/lib/x86_64-linux-gnu/libz.so.1', arm64), '/lib/aarch64-linux-gnu/libz.so.1');
    assert.equal(await locateInTree(root, '/usr/bin/busybox', arm64), '/bin/busybox');
    assert.equal(await locateInTree(root, '/usr/bin/prog', arm64), '/usr/bin/prog');
    assert.equal(await locateInTree(root, '/usr/bin/none', arm64), undefined);
  });
});

/** A fake apt-get and dpkg (logging their arguments) in front of the real PATH, and .deb fixtures made with dpkg-deb -b. */
describe('the package tree, with a fake apt-get and dpkg', () => {
  let work = '';
  let savedPath: string | undefined;
  let savedCache: string | undefined;
  const debs: DebFile[] = [];

  function makeDeb(name: string, version: string, files: Record<string, string>): void {
    const dir = join(work, 'src', name);
    mkdirSync(join(dir, 'DEBIAN'), { recursive: true });
    writeFileSync(join(dir, 'DEBIAN', 'control'), `Package: ${name}\nVersion: ${version}\nArchitecture: arm64\nMaintainer: Tailor tests <t@example.org>\nDescription: fixture\n`);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    const file = `${name}_${version.replace(':', '%3a')}_arm64.deb`;
    const r = spawnSync('dpkg-deb', ['--root-owner-group', '-b', dir, join(work, 'debs', file)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    debs.push({ name, version, arch: 'arm64', file, size: statSync(join(work, 'debs', file)).size });
  }

  const aptLog = () => (existsSync(join(work, 'apt.log')) ? readFileSync(join(work, 'apt.log'), 'utf8').trim().split('\n') : []);

  before(function () {
    work = mkdtempSync(join(tmpdir(), 'tailor-pkgtree-'));
    mkdirSync(join(work, 'debs'));
    mkdirSync(join(work, 'bin'));
    makeDeb('hello', '1:1.0-1', { 'usr/bin/hello': 'hello program\n', 'bin/true': 'arm64 true\n' });
    makeDeb('libgreet1', '2.0-1', { 'usr/lib/aarch64-linux-gnu/libgreet.so.1': 'greet library\n' });
    writeFileSync(
      join(work, 'print-uris.txt'),
      debs.map((d) => `'http://deb.example/pool/${d.file}' ${d.file} ${d.size} MD5Sum:00`).join('\n') + '\n',
    );
    // apt-get: install --print-uris prints the fixture (or fails for a package named nosuch);
    // download copies name=version debs into the working folder (fails for $FAKE_APT_FAIL).
    writeFileSync(
      join(work, 'bin', 'apt-get'),
      `#!/bin/sh
echo "apt-get $*" >> "${work}/apt.log"
cmd=$1; shift
case "$cmd" in
  update) exit 0 ;;
  install)
    case " $* " in *" nosuch "*) echo "E: Unable to locate package nosuch" >&2; exit 100 ;; esac
    cat "${work}/print-uris.txt" ;;
  download)
    while [ $# -gt 0 ]; do
      case "$1" in
        -o) shift ;;
        *=*) n=\${1%%=*}
             if [ "$n" = "$FAKE_APT_FAIL" ]; then echo "E: Failed to fetch $n" >&2; exit 100; fi
             cp "${work}/debs/$n"_*.deb . ;;
      esac
      shift
    done ;;
esac
`,
    );
    writeFileSync(
      join(work, 'bin', 'dpkg'),
      `#!/bin/sh
echo "dpkg $*" >> "${work}/apt.log"
case "$1" in
  --print-foreign-architectures) echo arm64 ;;
  -S) shift; st=0
      for p in "$@"; do case "$p" in /usr/bin/hello|/bin/true) echo "hello: $p" ;; *) echo "dpkg-query: no path found matching pattern $p" >&2; st=1 ;; esac; done
      exit $st ;;
esac
`,
    );
    chmodSync(join(work, 'bin', 'apt-get'), 0o755);
    chmodSync(join(work, 'bin', 'dpkg'), 0o755);
    savedPath = process.env.PATH;
    savedCache = process.env.TAILOR_CACHE;
    process.env.PATH = `${join(work, 'bin')}:${process.env.PATH}`;
  });
  after(() => {
    process.env.PATH = savedPath;
    if (savedCache === undefined) delete process.env.TAILOR_CACHE;
    else process.env.TAILOR_CACHE = savedCache;
    delete process.env.FAKE_APT_FAIL;
    rmSync(work, { recursive: true, force: true });
  });

  /** A fresh, empty cache for one test. */
  const freshCache = (name: string) => {
    process.env.TAILOR_CACHE = join(work, `cache-${name}`);
    return process.env.TAILOR_CACHE;
  };

  test('the closure apt prints is downloaded, unpacked into a tree keyed by the file list, and then served from the cache', async () => {
    const cache = freshCache('ok');
    rmSync(join(work, 'apt.log'), { force: true });
    const tree = await packageTree(['hello'], arm64);
    assert.equal(tree.root, join(cache, 'packages', 'arm64', packageTreeKey(debs), 'root'));
    assert.equal(readFileSync(join(tree.root, 'usr', 'bin', 'hello'), 'utf8'), 'hello program\n');
    assert.equal(readFileSync(join(tree.root, 'usr', 'lib', 'aarch64-linux-gnu', 'libgreet.so.1'), 'utf8'), 'greet library\n');
    assert.deepEqual(tree.requested, ['hello']);
    assert.deepEqual(tree.packages.map((p) => `${p.name}=${p.version}`), ['hello=1:1.0-1', 'libgreet1=2.0-1']);
    const calls = aptLog().filter((l) => l.startsWith('apt-get'));
    assert.equal(calls.length, 2, calls.join('\n'));
    assert.match(calls[0]!, /^apt-get install --print-uris .*-o APT::Architecture=arm64 -o APT::Architectures=arm64 -o Dir::State::status=\S+\/status .* hello$/);
    assert.match(calls[1]!, /^apt-get download .* hello=1:1.0-1 libgreet1=2.0-1$/);
    assert.deepEqual(readdirSync(join(cache, 'debs', 'arm64')).sort(), debs.map((d) => d.file).sort());

    rmSync(join(work, 'apt.log'), { force: true });
    const again = await packageTree(['hello'], arm64);
    assert.equal(again.root, tree.root);
    assert.deepEqual(aptLog().filter((l) => l.startsWith('apt-get')), [], 'a second build asks apt nothing');
  });

  test('a failed download leaves no tree, no .deb and no temporary folder behind', async () => {
    const cache = freshCache('fail');
    process.env.FAKE_APT_FAIL = 'libgreet1';
    try {
      await assert.rejects(packageTree(['hello'], arm64), (err: unknown) => {
        assert.ok(err instanceof TailorError);
        assert.match(err.message, /apt-get download hello=1:1.0-1 libgreet1=2.0-1 failed/);
        return true;
      });
    } finally {
      delete process.env.FAKE_APT_FAIL;
    }
    const leftovers = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
    assert.deepEqual(leftovers(join(cache, 'debs', 'arm64')), []);
    assert.deepEqual(leftovers(join(cache, 'packages', 'arm64')).filter((f) => f !== 'resolved'), []);
  });

  test('a package apt cannot resolve: one apt-get update, then an error naming it and the fix', async () => {
    freshCache('nosuch');
    rmSync(join(work, 'apt.log'), { force: true });
    await assert.rejects(packageTree(['nosuch'], arm64), (err: unknown) => {
      assert.ok(err instanceof TailorError);
      assert.match(err.message, /apt cannot resolve the arm64 packages nosuch .*\nE: Unable to locate package nosuch/);
      assert.match(err.hint ?? '', /apt-cache policy nosuch:arm64/);
      return true;
    });
    assert.equal(aptLog().filter((l) => l === 'apt-get update').length, 1);
  });

  test("foreign programs: packages from dpkg -S; a file no package owns is an error naming it and the module's packages: fix", async () => {
    freshCache('foreign');
    const fp = await foreignPrograms([{ who: 'module hello', paths: ['/usr/bin/hello'], declared: [] }], arm64);
    assert.deepEqual(fp.tree.requested, ['hello']);
    assert.equal(await fp.locate('/usr/bin/hello', 'module hello'), '/usr/bin/hello');
    await assert.rejects(fp.locate('/usr/bin/goodbye', 'module hello'), /arch=aarch64: module hello: \/usr\/bin\/goodbye is not in the arm64 package hello/);
    const mine = join(work, 'mine');
    writeFileSync(mine, 'a file of no package');
    await assert.rejects(foreignPrograms([{ who: `app=${mine}`, paths: [mine], declared: [] }], arm64), (err: unknown) => {
      assert.ok(err instanceof TailorError);
      assert.match(err.message, /: no Debian package on this host ships \S+\/mine \(dpkg -S\)/);
      assert.match(err.hint ?? '', /packages:/);
      return true;
    });
    await assert.rejects(foreignPrograms([{ who: 'app=/usr/local/bin/none', paths: ['/usr/local/bin/none'], declared: [] }], arm64), (err: unknown) => {
      assert.ok(err instanceof TailorError);
      assert.match(err.message, /app=\/usr\/local\/bin\/none: \/usr\/local\/bin\/none is not on this host, where Tailor learns which Debian package ships it/);
      assert.match(err.hint ?? '', /install that package on this host/);
      return true;
    });
    // With the module's packages: map naming the package, the unowned file is looked for in it.
    const declared = await foreignPrograms([{ who: 'module mine', paths: ['/usr/local/bin/mine'], declared: ['hello'] }], arm64);
    assert.deepEqual(declared.tree.requested, ['hello']);
  });

  test('a plain copy of a host program (/x: /host/path) is replaced by the arm64 package file; the x86-64 build keeps the host file', async (t) => {
    if (process.arch !== 'x64' || !existsSync('/usr/bin/true')) return t.skip('needs an x86-64 host with /usr/bin/true');
    freshCache('copies');
    const module: ModuleDefinition = {
      name: 'copier', dir: join(work, 'no-module-dir'), description: '', requires: [], conditional: [], kernel: [], provides: [],
      configs: {}, runOnInit: [], files: [], kernelPatches: [], packages: {},
    };
    const plan = {
      order: [{ name: 'copier', dir: module.dir, description: '', requires: [], kernelNeeds: [] }],
      manifest: [{ guestPath: '/usr/bin/t', source: { kind: 'file' as const, path: '/usr/bin/true' }, module: 'copier' }],
      kernelNeeds: [],
    };
    const inputs = { plan, modules: [module], moduleBuildRoot: join(work, 'build-modules'), extraLibs: [] };
    const arm = await addHostFiles({ ...inputs, arch: arm64 });
    const copied = arm.manifest.find((e) => e.guestPath === '/usr/bin/t')!;
    assert.equal(copied.source.kind, 'file');
    assert.equal(readFileSync((copied.source as { path: string }).path, 'utf8'), 'arm64 true\n');
    const x64 = await addHostFiles({ ...inputs, arch: targetArches.x64 });
    assert.deepEqual(x64.manifest.find((e) => e.guestPath === '/usr/bin/t')!.source, { kind: 'file', path: '/usr/bin/true' });
  });
});

describe('the library closure inside a tree of arm64 files', () => {
  const crossLib = '/usr/aarch64-linux-gnu/lib';
  let root = '';
  let unavailable: string | undefined;
  before(() => {
    const cc = spawnSync('aarch64-linux-gnu-gcc', ['--version']);
    if (cc.status !== 0) unavailable = 'aarch64-linux-gnu-gcc is not installed (apt-get install -y gcc-aarch64-linux-gnu libc6-dev-arm64-cross)';
    else if (!existsSync(join(crossLib, 'libc.so.6'))) unavailable = `${crossLib}/libc.so.6 is missing (apt-get install -y libc6-arm64-cross)`;
    if (unavailable) return;
    root = mkdtempSync(join(tmpdir(), 'tailor-arm64tree-'));
    const multi = join(root, 'lib', 'aarch64-linux-gnu');
    const usrMulti = join(root, 'usr', 'lib', 'aarch64-linux-gnu');
    mkdirSync(multi, { recursive: true });
    mkdirSync(usrMulti, { recursive: true });
    mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
    for (const f of ['libc.so.6', 'ld-linux-aarch64.so.1']) copyFileSync(join(crossLib, f), join(multi, f));
    // As Debian's libc6 ships it: an absolute link, which on this host points at nothing.
    symlinkSync('/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1', join(root, 'lib', 'ld-linux-aarch64.so.1'));
    writeFileSync(join(root, 'greet.c'), 'const char *greet(void) { return "hi"; }\n');
    writeFileSync(join(root, 'main.c'), '#include <stdio.h>\nconst char *greet(void);\nint main(void) { puts(greet()); return 0; }\n');
    const sh = (args: string[]) => {
      const r = spawnSync('aarch64-linux-gnu-gcc', args, { cwd: root, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    sh(['-shared', '-fPIC', '-Wl,-soname,libgreet.so.1', '-o', join(usrMulti, 'libgreet.so.1.0'), 'greet.c']);
    symlinkSync('libgreet.so.1.0', join(usrMulti, 'libgreet.so.1'));
    symlinkSync('libgreet.so.1', join(usrMulti, 'libgreet.so'));
    sh(['-o', join(root, 'usr', 'bin', 'greet'), 'main.c', `-L${usrMulti}`, '-lgreet']);
    symlinkSync('/usr/bin/greet', join(root, 'usr', 'bin', 'greet-link'));
  });
  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('binary, interpreter and libraries resolve in the tree; guest paths are the tree system paths, files the tree files', async (t) => {
    if (unavailable) return t.skip(unavailable);
    const { files } = await hostClosure(['/usr/bin/greet-link'], { root });
    const byGuest = new Map(files.map((f) => [f.guestPath, f]));
    assert.equal(byGuest.get('/usr/bin/greet-link')?.linkTarget, '/usr/bin/greet');
    assert.equal(byGuest.get('/usr/bin/greet')?.hostPath, join(root, 'usr', 'bin', 'greet'));
    assert.equal(byGuest.get('/lib/ld-linux-aarch64.so.1')?.hostPath, join(root, 'lib', 'aarch64-linux-gnu', 'ld-linux-aarch64.so.1'));
    assert.equal(byGuest.get('/usr/lib/aarch64-linux-gnu/libgreet.so.1')?.hostPath, join(root, 'usr', 'lib', 'aarch64-linux-gnu', 'libgreet.so.1.0'));
    assert.equal(byGuest.get('/lib/aarch64-linux-gnu/libc.so.6')?.hostPath, join(root, 'lib', 'aarch64-linux-gnu', 'libc.so.6'));
    for (const f of files) {
      if (f.linkTarget || f.reason.startsWith('generated') || f.guestPath.startsWith('/etc/')) continue;
      assert.ok(f.hostPath.startsWith(`${root}/`), `${f.guestPath} comes from the tree, not the host: ${f.hostPath}`);
    }
  });

  test("a library in a folder the tree's ld.so.conf.d lists is found there and placed in a default folder (the guest has no ld.so.cache)", async (t) => {
    if (unavailable) return t.skip(unavailable);
    const lib = join(root, 'usr', 'lib', 'aarch64-linux-gnu', 'libgreet.so.1.0');
    const optLib = join(root, 'opt', 'greet', 'lib');
    mkdirSync(optLib, { recursive: true });
    mkdirSync(join(root, 'etc', 'ld.so.conf.d'), { recursive: true });
    writeFileSync(join(root, 'etc', 'ld.so.conf.d', 'greet.conf'), '# the greet library\n/opt/greet/lib\n');
    spawnSync('mv', [lib, join(optLib, 'libgreet.so.1')]);
    try {
      const { files } = await hostClosure(['/usr/bin/greet'], { root });
      const greet = files.find((f) => f.guestPath === '/usr/lib/aarch64-linux-gnu/libgreet.so.1');
      assert.equal(greet?.hostPath, join(optLib, 'libgreet.so.1'));
      assert.match(greet?.reason ?? '', /found via a folder of the tree's \/etc\/ld\.so\.conf at \/opt\/greet\/lib\/libgreet\.so\.1/);
    } finally {
      spawnSync('mv', [join(optLib, 'libgreet.so.1'), lib]);
      rmSync(join(root, 'etc'), { recursive: true, force: true });
    }
  });

  test('a library no unpacked package ships: the error names it and points at packages:', async (t) => {
    if (unavailable) return t.skip(unavailable);
    const moved = join(root, 'libgreet.so.1.0');
    const lib = join(root, 'usr', 'lib', 'aarch64-linux-gnu', 'libgreet.so.1.0');
    spawnSync('mv', [lib, moved]);
    try {
      await assert.rejects(hostClosure(['/usr/bin/greet'], { root }), (err: unknown) => {
        assert.ok(err instanceof TailorError);
        assert.match(err.message, /^libgreet\.so\.1 \(needed by \/usr\/bin\/greet\) not found in \/lib\/aarch64-linux-gnu, \/usr\/lib\/aarch64-linux-gnu, \/lib, \/usr\/lib$/);
        assert.match(err.hint ?? '', /no package unpacked in .* ships it: name the Debian package that does in the module's packages:/);
        return true;
      });
    } finally {
      spawnSync('mv', [moved, lib]);
    }
  });
});
