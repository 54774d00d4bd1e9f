// module.yaml validation (src/modules/module-file.ts) and OSv's usr.manifest syntax (src/modules/manifest.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../src/errors.ts';
import { manifestPath, readModuleFile } from '../../src/modules/module-file.ts';
import { expandManifest, parseManifest, type ManifestContext } from '../../src/modules/manifest.ts';
import type { ManifestEntry } from '../../src/modules/types.ts';

function tree(t: { after: (fn: () => void) => void }, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-manifest-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

function usage(...patterns: RegExp[]) {
  return (e: Error) => {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${e?.constructor?.name}: ${e?.message}`);
    for (const p of patterns) assert.match(`${e.message}\n${e.hint ?? ''}`, p);
    return true;
  };
}

/** Parse and expand manifest text for a module folder `dir`. */
function expand(text: string, dir: string, extra: Partial<ManifestContext> = {}): ManifestEntry[] {
  const file = join(dir, 'usr.manifest');
  return expandManifest(parseManifest(text, file), {
    module: 'm',
    file,
    variables: { MODULE_DIR: dir, MODULE_BUILD: join(dir, 'out') },
    baseDir: dir,
    ...extra,
  });
}

const view = (entries: ManifestEntry[]) => entries.map((e) => [e.guestPath, e.source]);

// ---- module.yaml ----

test('module.yaml: every key read; the name defaults to the folder name', (t) => {
  const dir = tree(t, {
    'mod/module.yaml':
      'description: a test module\nrequires: [x, y]\nrequires_if_present:\n  - require: x-httpserver\n    if_present: httpserver\nkernel: [net, epoll]\nrun: /bin/x --flag\nbuild: make\n',
    'mod/usr.manifest': '/x: ${MODULE_DIR}/x\n',
  });
  const m = readModuleFile(join(dir, 'mod'));
  assert.equal(m.name, 'mod');
  assert.equal(m.dir, join(dir, 'mod'));
  assert.equal(m.description, 'a test module');
  assert.deepEqual(m.requires, ['x', 'y']);
  assert.deepEqual(m.conditional, [{ require: 'x-httpserver', ifPresent: 'httpserver' }]);
  assert.deepEqual(m.kernel, ['net', 'epoll']);
  assert.equal(m.run, '/bin/x --flag');
  assert.equal(m.build, 'make');
  assert.equal(manifestPath(m), join(dir, 'mod', 'usr.manifest'));
  const named = tree(t, { 'folder/module.yaml': 'name: other\n' });
  assert.equal(readModuleFile(join(named, 'folder')).name, 'other');
  // An empty module.yaml is a module with nothing in it.
  const empty = tree(t, { 'e/module.yaml': '' });
  assert.deepEqual([readModuleFile(join(empty, 'e')).requires, manifestPath(readModuleFile(join(empty, 'e')))], [[], undefined]);
});

test('module.yaml: unknown keys and wrong types are UsageErrors naming the file and key', (t) => {
  const cases: [string, RegExp][] = [
    ['require: [x]\n', /unknown key require\b/],
    ['requires: x\n', /requires must be a list of names/],
    ['requires: [1, 2]\n', /requires must be a list of names/],
    ['kernel: {net: true}\n', /kernel must be a list of names/],
    ['run: [a, b]\n', /run: must be a command line or \{java/],
    ['run: {java: {main: M}}\n', /main: M needs a classpath/],
    ['run: {java: {jar: /a.jar, classpath: [/b]}}\n', /java ignores the class path with jar/],
    ['configs: {"a b": /x}\n', /configs\.a b: a configuration name/],
    ['run: /x\nconfigs: {default: /y}\n', /both run: and configs\.default/],
    ['provides: java\n', /provides must be a list/],
    ['files: [{from: d}]\n', /files\[0\]: to: must be an absolute guest folder/],
    ['files: [{from: d, to: /x, includes: ["*"]}]\n', /files\[0\]: unknown key includes/],
    ['description: 3\n', /description must be text/],
    ['requires_if_present: x\n', /requires_if_present must be a list/],
    ['requires_if_present:\n  - require: x\n', /requires_if_present\[0\] needs require: NAME and if_present: NAME/],
    ['- a\n- b\n', /must be a mapping/],
    ['requires: [a\n', /module\.yaml/],
  ];
  for (const [text, pattern] of cases) {
    const dir = tree(t, { 'bad/module.yaml': text });
    assert.throws(() => readModuleFile(join(dir, 'bad')), usage(pattern, /bad\/module\.yaml/), `module.yaml: ${JSON.stringify(text)}`);
  }
});

// ---- usr.manifest: syntax ----

test('manifest: [manifest] header, comments, blank lines; line numbers kept', () => {
  const lines = parseManifest('[manifest]\n# comment\n\n/a: a.txt  # trailing\n/b/: \n/c: ->/a\n', '/m/usr.manifest');
  assert.deepEqual(lines, [
    { guest: '/a', host: 'a.txt', line: 4 },
    { guest: '/b/', host: '', line: 5 },
    { guest: '/c', host: '->/a', line: 6 },
  ]);
});

test('manifest: a relative guest path goes under / with a note naming file and line (as OSv); a line without host path is an error', (t) => {
  const dir = tree(t, { 'x.so': 'x' });
  const notes: string[] = [];
  assert.deepEqual(view(expand('/ok: x.so\ntools/x.so: x.so\n', dir, { notes })), [
    ['/ok', { kind: 'file', path: join(dir, 'x.so') }],
    ['/tools/x.so', { kind: 'file', path: join(dir, 'x.so') }],
  ]);
  assert.deepEqual(notes, [`${join(dir, 'usr.manifest')}:2: the guest path tools/x.so is relative: placed at /tools/x.so (as OSv does)`]);
  assert.throws(() => parseManifest('/a:x\n', '/m/usr.manifest'), usage(/\/m\/usr\.manifest:1/, /no host path/));
});

test('manifest: ${MODULE_DIR} and ${MODULE_BUILD}; an unknown variable is an error listing the known ones', (t) => {
  const dir = tree(t, { 'a.txt': 'a', 'out/bin': 'b' });
  assert.deepEqual(view(expand('/a: ${MODULE_DIR}/a.txt\n/bin/x: ${MODULE_BUILD}/bin\n/rel: a.txt\n', dir)), [
    ['/a', { kind: 'file', path: join(dir, 'a.txt') }],
    ['/bin/x', { kind: 'file', path: join(dir, 'out/bin') }],
    ['/rel', { kind: 'file', path: join(dir, 'a.txt') }],
  ]);
  assert.throws(() => expand('/a: a.txt\n/b: ${MODULE_PATH}/a.txt\n', dir), usage(/usr\.manifest:2/, /unknown variable \$\{MODULE_PATH\}/, /\$\{MODULE_DIR\}/, /\$\{MODULE_BUILD\}/));
});

test('manifest: ->target is a guest symlink; a link to itself means the host file of that path', (t) => {
  const dir = tree(t, { 'real.txt': 'r' });
  const self = join(dir, 'real.txt');
  assert.deepEqual(view(expand(`/usr/lib/libx.so: ->libx.so.1\n${self}: ->${self}\n/dir:\n`, dir)), [
    ['/usr/lib/libx.so', { kind: 'symlink', target: 'libx.so.1' }],
    [self, { kind: 'file', path: self }],
    ['/dir', { kind: 'dir' }],
  ]);
});

test('manifest: /** copies a tree recursively (files, folders, symlinks), in sorted order', (t) => {
  const dir = tree(t, { 'share/b.txt': 'b', 'share/a/one.txt': '1', 'share/a/deep/two.txt': '2' });
  symlinkSync('b.txt', join(dir, 'share/link'));
  assert.deepEqual(view(expand('/usr/share/**: ${MODULE_DIR}/share/**\n', dir)), [
    ['/usr/share/a', { kind: 'dir', path: join(dir, 'share/a') }],
    ['/usr/share/a/deep', { kind: 'dir', path: join(dir, 'share/a/deep') }],
    ['/usr/share/a/deep/two.txt', { kind: 'file', path: join(dir, 'share/a/deep/two.txt') }],
    ['/usr/share/a/one.txt', { kind: 'file', path: join(dir, 'share/a/one.txt') }],
    ['/usr/share/b.txt', { kind: 'file', path: join(dir, 'share/b.txt') }],
    ['/usr/share/link', { kind: 'symlink', target: 'b.txt' }],
  ]);
  assert.throws(() => expand('/usr/share/**: ${MODULE_DIR}/share\n', dir), usage(/\/\*\* must end both/));
  assert.throws(() => expand('/x/**: ${MODULE_DIR}/nothere/**\n', dir), usage(/usr\.manifest:1/, /nothere does not exist/));
});

test('manifest: /&/ stands for the rest of the path on the host side', (t) => {
  const dir = tree(t, { 'lib/x86_64-linux-gnu/libz.so.1': 'z' });
  assert.deepEqual(view(expand(`/usr/lib/&/libz.so.1: ${dir}/lib/x86_64-linux-gnu/&\n`, dir)), [
    ['/usr/lib/libz.so.1', { kind: 'file', path: join(dir, 'lib/x86_64-linux-gnu/libz.so.1') }],
  ]);
  assert.throws(() => expand(`/usr/lib/&/libz.so.1: ${dir}/lib/x86_64-linux-gnu/libz.so.1\n`, dir), usage(/needs a host path ending in \/&/));
});

test('manifest: !path is taken literally (a symlink is not resolved); without ! it is', (t) => {
  const dir = tree(t, { 'target.txt': 't' });
  symlinkSync('target.txt', join(dir, 'alias.txt'));
  assert.deepEqual(view(expand('/lit: !alias.txt\n/res: alias.txt\n', dir)), [
    ['/lit', { kind: 'file', path: join(dir, 'alias.txt') }],
    ['/res', { kind: 'file', path: join(dir, 'target.txt') }],
  ]);
});

test('manifest: a missing host file is an error unless requireFiles is false; .. in a guest path is refused', (t) => {
  const dir = tree(t);
  assert.throws(() => expand('/x: ${MODULE_BUILD}/x\n', dir), usage(/usr\.manifest:1/, /out\/x does not exist/, /build/));
  assert.deepEqual(view(expand('/x: ${MODULE_BUILD}/x\n', dir, { requireFiles: false })), [['/x', { kind: 'file', path: join(dir, 'out/x') }]]);
  assert.throws(() => expand('/a/../etc/passwd: x\n', dir, { requireFiles: false }), usage(/may not contain \.\./));
});
