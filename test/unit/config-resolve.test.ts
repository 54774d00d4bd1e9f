// Layered configuration (src/config/resolve.ts): the five layers and their sources, flags,
// aliases, value validation, impossible combinations and no-effect warnings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../src/errors.ts';
import { builtinProfileDir, resolveConfig } from '../../src/config/index.ts';

function project(t: { after: (fn: () => void) => void }, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

/** Line number (1-based) of the first line of a built-in profile that starts with `prefix`. */
function builtinLine(profile: string, prefix: string): number {
  const lines = readFileSync(join(builtinProfileDir, `${profile}.mk`), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.trim().startsWith(prefix));
  assert.ok(i >= 0, `${profile}.mk has a line starting with ${prefix}`);
  return i + 1;
}

/** Expect a UsageError (exit code 2) whose message (and hint) match every pattern. */
function rejects(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${e?.constructor?.name}: ${e?.message}`);
    assert.equal(e.exitCode, 2);
    const text = `${e.message}\n${e.hint ?? ''}`;
    for (const p of patterns) assert.match(text, p);
    return true;
  });
}

test('with no input every option has its schema default and source default', (t) => {
  const cwd = project(t);
  const c = resolveConfig([], { cwd });
  assert.equal(c.options.fs, 'ramfs');
  assert.equal(c.options.kernel, 'custom');
  assert.deepEqual(c.sources.fs, { kind: 'default' });
  assert.equal(c.profileName, undefined);
  assert.deepEqual(c.warnings, []);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.options));
});

test('precedence: default < built-in profile < project profile < tailor.yaml < command line, with each source', (t) => {
  const minimalMk = join(builtinProfileDir, 'minimal.mk');
  const cwd = project(t, {
    // The project profile of the same name refines the built-in one.
    'conf/profiles/minimal.mk': '# project refinement\nfs = rofs\nconf_tracing = 1\nCFLAGS += -O3\n',
    'tailor.yaml': 'extends: minimal\nconf_tracing: 0\nmode: debug\nopt: -O2\n',
  });
  const projectMk = join(cwd, 'conf/profiles/minimal.mk');
  const yaml = join(cwd, 'tailor.yaml');

  // Without a profile and without tailor.yaml: defaults.
  const bare = project(t);
  assert.equal(resolveConfig([], { cwd: bare }).options.opt, '-O2');

  // Built-in profile alone (an empty project folder, --profile=minimal).
  const b = resolveConfig(['--profile=minimal'], { cwd: bare });
  assert.equal(b.profileName, 'minimal');
  assert.equal(b.options.kernel, 'custom');
  assert.deepEqual(b.sources.kernel, { kind: 'profile', name: 'minimal', file: minimalMk, line: builtinLine('minimal', 'kernel') });
  assert.equal(b.options.opt, '-Os');
  assert.deepEqual(b.sources.opt, { kind: 'profile', name: 'minimal', file: minimalMk, line: builtinLine('minimal', 'CFLAGS') });
  assert.equal(b.options.fs, 'ramfs');
  assert.equal(b.sources.fs?.kind, 'profile');

  // All five layers: tailor.yaml's extends: picks the profile.
  const all = resolveConfig(['-Os', 'mode=release'], { cwd });
  assert.equal(all.profileName, 'minimal');
  // default
  assert.equal(all.options.lto, false);
  assert.deepEqual(all.sources.lto, { kind: 'default' });
  // built-in profile
  assert.equal(all.options.kernel, 'custom');
  assert.equal(all.sources.kernel?.kind, 'profile');
  // project profile overrides the built-in fs=ramfs
  assert.equal(all.options.fs, 'rofs');
  assert.deepEqual(all.sources.fs, { kind: 'project-profile', name: 'minimal', file: projectMk, line: 2 });
  // tailor.yaml overrides the project profile's conf_tracing = 1
  assert.equal(all.options.conf_tracing, false);
  assert.deepEqual(all.sources.conf_tracing, { kind: 'project-file', file: yaml });
  // command line overrides tailor.yaml (mode) and everything below it (opt: built-in -Os, project -O3, yaml -O2, cli -Os)
  assert.equal(all.options.mode, 'release');
  assert.deepEqual(all.sources.mode, { kind: 'command-line', arg: 'mode=release' });
  assert.equal(all.options.opt, '-Os');
  assert.deepEqual(all.sources.opt, { kind: 'command-line', arg: '-Os' });

  // Peel the layers off one by one: each lower layer shows through.
  const noCli = resolveConfig([], { cwd });
  assert.equal(noCli.options.opt, '-O2');
  assert.deepEqual(noCli.sources.opt, { kind: 'project-file', file: yaml });
  assert.equal(noCli.options.mode, 'debug');

  const noYaml = project(t, { 'conf/profiles/minimal.mk': readFileSync(projectMk, 'utf8') });
  const p = resolveConfig(['--profile=minimal'], { cwd: noYaml });
  assert.equal(p.options.opt, '-O3');
  assert.deepEqual(p.sources.opt, { kind: 'project-profile', name: 'minimal', file: join(noYaml, 'conf/profiles/minimal.mk'), line: 4 });
  assert.equal(p.options.conf_tracing, true);

  // --profile on the command line beats tailor.yaml's extends:
  const other = resolveConfig(['--profile=webserver'], { cwd });
  assert.equal(other.profileName, 'webserver');
  assert.equal(other.options.conf_drivers_profile, 'virtio');
});

test('a project-only profile works; an unknown profile name is an error with a suggestion', (t) => {
  const cwd = project(t, { 'conf/profiles/mine.mk': 'fs = ext4\n' });
  const c = resolveConfig(['--profile', 'mine'], { cwd });
  assert.equal(c.options.fs, 'ext4');
  assert.equal(c.sources.fs?.kind, 'project-profile');
  rejects(() => resolveConfig(['--profile=minimall'], { cwd }), /no profile named minimall/, /minimal/);
});

test('CFLAGS += -Os -march=x86-64-v3 -mavx2 maps to opt, march and cflags', (t) => {
  const cwd = project(t, { 'conf/profiles/fast.mk': 'CFLAGS += -Os -march=x86-64-v3 -mavx2\nCFLAGS += -fno-plt\n' });
  const c = resolveConfig(['--profile=fast'], { cwd });
  assert.equal(c.options.opt, '-Os');
  assert.equal(c.options.march, 'x86-64-v3');
  assert.deepEqual(c.options.cflags, ['-mavx2', '-fno-plt']);
  assert.deepEqual(c.sources.march, { kind: 'project-profile', name: 'fast', file: join(cwd, 'conf/profiles/fast.mk'), line: 1 });
});

test('-Os, -O3, -march= and -mtune= on the command line', (t) => {
  const cwd = project(t);
  const c = resolveConfig(['-O3', '-march=x86-64-v2', '-mtune=znver3'], { cwd });
  assert.equal(c.options.opt, '-O3');
  assert.equal(c.options.march, 'x86-64-v2');
  assert.equal(c.options.mtune, 'znver3');
  assert.deepEqual(c.sources.march, { kind: 'command-line', arg: '-march=x86-64-v2' });
  assert.equal(resolveConfig(['-Os'], { cwd }).options.opt, '-Os');
  // The last one wins, as with a compiler.
  assert.equal(resolveConfig(['-Os', '-O3'], { cwd }).options.opt, '-O3');
  rejects(() => resolveConfig(['-O1'], { cwd }), /opt=-O1/, /-O2, -Os, -O3/);
  rejects(() => resolveConfig(['--frobnicate'], { cwd }), /unknown build flag --frobnicate/);
});

test('the alias zfs_compression sets fs_compression, with a warning', (t) => {
  const cwd = project(t);
  const c = resolveConfig(['fs=rofs', 'zfs_compression=zstd'], { cwd });
  assert.equal(c.options.fs_compression, 'zstd');
  assert.equal('zfs_compression' in c.options, false);
  assert.ok(c.warnings.some((w) => w.includes('zfs_compression') && w.includes('fs_compression')), c.warnings.join('\n'));
});

test('an unknown option is exit code 2 with "did you mean conf_hide_symbols"', (t) => {
  const cwd = project(t);
  rejects(() => resolveConfig(['conf_hide_symbol=1'], { cwd }), /unknown option conf_hide_symbol\b/, /did you mean conf_hide_symbols\?/);
  rejects(() => resolveConfig(['fs_compresion=lz4'], { cwd }), /did you mean fs_compression/);
  // In a profile, the error names the file and line.
  const bad = project(t, { 'conf/profiles/typo.mk': 'fs = rofs\nconf_hide_symbol = 1\n' });
  rejects(() => resolveConfig(['--profile=typo'], { cwd: bad }), /typo\.mk:2/, /did you mean conf_hide_symbols/);
  // In tailor.yaml, the error names the file.
  const y = project(t, { 'tailor.yaml': 'conf_hide_symbol: 1\n' });
  rejects(() => resolveConfig([], { cwd: y }), /tailor\.yaml/, /did you mean conf_hide_symbols/);
  rejects(() => resolveConfig(['rofs'], { cwd }), /not key=value/);
});

test('wrong values: bool, enum (allowed values listed), int range and units', (t) => {
  const cwd = project(t);
  rejects(() => resolveConfig(['conf_hide_symbols=2'], { cwd }), /conf_hide_symbols=2 is not valid/, /0 or 1/);
  for (const v of ['yes', 'true', '1', 'on']) assert.equal(resolveConfig([`lto=${v}`], { cwd }).options.lto, true);
  for (const v of ['no', 'false', '0', 'off']) assert.equal(resolveConfig([`lto=${v}`], { cwd }).options.lto, false);
  rejects(() => resolveConfig(['mode=fast'], { cwd }), /mode=fast is not valid/, /one of release, debug/);
  rejects(() => resolveConfig(['fs=xfs'], { cwd }), /fs=xfs/, /ramfs, rofs, ext4, btrfs, virtiofs/);
  rejects(() => resolveConfig(['conf_mem_page_size=8192'], { cwd }), /conf_mem_page_size=8192/, /4096 to 4096/);
  rejects(() => resolveConfig(['fs_size_mb=-5'], { cwd }), /fs_size_mb=-5/, /whole number/);
  rejects(() => resolveConfig(['fs_size_mb=lots'], { cwd }), /fs_size_mb=lots/);
  // Units on a MiB option: 64M, 1G, 2048K.
  assert.equal(resolveConfig(['fs=ext4', 'fs_size_mb=64M'], { cwd }).options.fs_size_mb, 64);
  assert.equal(resolveConfig(['fs=ext4', 'fs_size_mb=64'], { cwd }).options.fs_size_mb, 64);
  assert.equal(resolveConfig(['fs=ext4', 'fs_size_mb=1G'], { cwd }).options.fs_size_mb, 1024);
  assert.equal(resolveConfig(['fs=ext4', 'fs_size_mb=2048K'], { cwd }).options.fs_size_mb, 2);
  rejects(() => resolveConfig(['fs=ext4', 'fs_size_mb=100K'], { cwd }), /fs_size_mb=100K/, /whole number of MiB/);
  assert.equal(resolveConfig(['fs=ext4', 'fs_size_mb=64MiB'], { cwd }).options.fs_size_mb, 64);
  assert.equal(resolveConfig(['fs=ext4', 'fs_size_mb=2GB'], { cwd }).options.fs_size_mb, 2048);
  // A bare B (bytes) is not a MiB count.
  rejects(() => resolveConfig(['fs=ext4', 'fs_size_mb=64B'], { cwd }), /fs_size_mb=64B/);
  // A suffix on an option that is not in MiB is refused.
  rejects(() => resolveConfig(['conf_mem_huge_page_size=2M'], { cwd }), /conf_mem_huge_page_size=2M/, /without a suffix/);
  // += only appends to list options.
  const plus = project(t, { 'conf/profiles/p.mk': 'fs += rofs\n' });
  rejects(() => resolveConfig(['--profile=p'], { cwd: plus }), /p\.mk:1/, /\+= appends to list options only/);
});

test('fs=zfs is refused with a pointer to btrfs or ext4', (t) => {
  const cwd = project(t);
  rejects(() => resolveConfig(['fs=zfs'], { cwd }), /fs=zfs/, /no ZFS/, /fs=btrfs/, /fs=ext4/);
});

test('arch=aarch64: accepted; march derived from it; ACPI from a drivers profile turned off with why; asked by name, refused', (t) => {
  const cwd = project(t);
  assert.equal(resolveConfig(['arch=x64'], { cwd }).options.arch, 'x64');
  const c = resolveConfig(['arch=aarch64'], { cwd });
  assert.equal(c.options.arch, 'aarch64');
  assert.equal(c.options.march, 'armv8-a');
  assert.deepEqual(c.sources.march, { kind: 'derived', reason: 'arch=aarch64' });
  assert.equal(c.options.conf_drivers_acpi, false);
  assert.match(JSON.stringify(c.sources.conf_drivers_acpi), /arch=aarch64: .*UEFI/);
  assert.equal(resolveConfig(['arch=aarch64', '-march=armv8.2-a'], { cwd }).options.march, 'armv8.2-a');
  rejects(() => resolveConfig(['arch=aarch64', 'conf_drivers_acpi=1'], { cwd }), /conf_drivers_acpi=1 .*arch=aarch64/, /remove conf_drivers_acpi=1/);
  // x86-64 options and hash are what they were before arch= was read.
  assert.equal(resolveConfig([], { cwd }).options.march, 'x86-64');
  assert.equal(resolveConfig([], { cwd }).hash, resolveConfig(['arch=x64'], { cwd }).hash);
});

test('image= empty is refused; image=empty is the empty image', (t) => {
  const cwd = project(t);
  rejects(() => resolveConfig(['image='], { cwd }), /image= is empty/, /image=empty/);
  assert.deepEqual(resolveConfig(['image=empty'], { cwd }).options.image, ['empty']);
  assert.deepEqual(resolveConfig(['image=a, b,,c'], { cwd }).options.image, ['a', 'b', 'c']);
});

test('options without effect in the chosen combination give warnings, and only then', (t) => {
  const cwd = project(t);
  const ext4 = resolveConfig(['fs=ext4', 'fs_compression=lz4'], { cwd });
  assert.ok(ext4.warnings.some((w) => /^fs_compression=lz4 has no effect: fs=ext4 is not compressed/.test(w)), ext4.warnings.join('\n'));
  assert.deepEqual(resolveConfig(['fs=rofs', 'fs_compression=lz4'], { cwd }).warnings, []);

  const stock = resolveConfig(['kernel=stock', 'conf_preempt=1'], { cwd });
  assert.ok(stock.warnings.some((w) => w.startsWith('conf_preempt=1 has no effect') && w.includes('kernel=stock')), stock.warnings.join('\n'));
  assert.deepEqual(resolveConfig(['kernel=custom', 'conf_preempt=1'], { cwd }).warnings, []);

  const size = resolveConfig(['fs=rofs', 'fs_size_mb=64'], { cwd });
  assert.ok(size.warnings.some((w) => w.startsWith('fs_size_mb=64 has no effect')), size.warnings.join('\n'));
});

test('conf_hide_symbols with kernel=stock warns that the kernel part has no effect', (t) => {
  // The option also strips ELF files in the image, which works with any kernel; the kallsyms
  // part only applies to a custom kernel, so the user should hear about it.
  const cwd = project(t);
  const c = resolveConfig(['kernel=stock', 'conf_hide_symbols=1'], { cwd });
  assert.ok(c.warnings.some((w) => w.startsWith('conf_hide_symbols=1 has no effect') && /stock kernel/.test(w) && w.includes('kernel=custom')), `warnings: ${JSON.stringify(c.warnings)}`);
  assert.deepEqual(resolveConfig(['kernel=custom', 'conf_hide_symbols=1'], { cwd }).warnings, []);
});

test('tailor.yaml: lists, booleans and numbers; a non-mapping file and bad YAML are errors', (t) => {
  const cwd = project(t, { 'tailor.yaml': 'image: [a, b]\nlto: true\nfs: ext4\nfs_size_mb: 128\ncflags:\n  - -g\n  - -fno-plt\n' });
  const c = resolveConfig([], { cwd });
  assert.deepEqual(c.options.image, ['a', 'b']);
  assert.equal(c.options.lto, true);
  assert.equal(c.options.fs_size_mb, 128);
  assert.deepEqual(c.options.cflags, ['-g', '-fno-plt']);
  const list = project(t, { 'tailor.yaml': '- fs\n- rofs\n' });
  rejects(() => resolveConfig([], { cwd: list }), /tailor\.yaml: must be a mapping/);
  const broken = project(t, { 'tailor.yaml': 'fs: [rofs\n' });
  rejects(() => resolveConfig([], { cwd: broken }), /tailor\.yaml:2: not valid YAML/);
});

test('--module-path values are resolved against the working directory, in order', (t) => {
  const cwd = project(t);
  const c = resolveConfig(['--module-path=one', '--module-path', '/abs/two'], { cwd });
  assert.deepEqual(c.modulePaths, [join(cwd, 'one'), '/abs/two']);
  rejects(() => resolveConfig(['--module-path'], { cwd }), /--module-path needs a value/);
});

test('profile operators across layers: := sets, ?= only fills what no layer set, += appends to lists', (t) => {
  const cwd = project(t, {
    'conf/profiles/base.mk': 'fs := rofs\nmodules += one\ncflags += -g\n',
    'conf/profiles/top.mk': 'include base.mk\nfs ?= ext4\nmode ?= debug\nmodules += two\nCFLAGS += -fno-plt\n',
  });
  const c = resolveConfig(['--profile=top', 'modules=three'], { cwd });
  assert.equal(c.options.fs, 'rofs', '?= does not override a value an earlier line set');
  assert.equal(c.sources.fs?.kind === 'project-profile' && c.sources.fs.line, 1);
  assert.equal(c.options.mode, 'debug', '?= fills an option only the default set');
  assert.deepEqual(c.options.cflags, ['-g', '-fno-plt']);
  // The command line's = replaces the list the profile built up.
  assert.deepEqual(c.options.modules, ['three']);
  assert.deepEqual(resolveConfig(['--profile=top'], { cwd }).options.modules, ['one', 'two']);
});

test('tailor.yaml accepts CFLAGS with the same mapping as profiles', (t) => {
  const cwd = project(t, { 'tailor.yaml': 'CFLAGS: -O3 -march=x86-64-v4 -mavx512f\n' });
  const c = resolveConfig([], { cwd });
  assert.deepEqual([c.options.opt, c.options.march, c.options.cflags], ['-O3', 'x86-64-v4', ['-mavx512f']]);
  assert.deepEqual(c.sources.opt, { kind: 'project-file', file: join(cwd, 'tailor.yaml') });
});
