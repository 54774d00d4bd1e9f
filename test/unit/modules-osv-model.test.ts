// The module model grown to OSv's (src/modules/resolve.ts, run-config.ts, file-map.ts, lookup.ts, manifest.ts):
// run configurations chosen with image=NAME.CONFIG, provides, run_on_init order, the Java run form,
// files: maps with globs, manifests read after the build, OSv's manifest semantics and their errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../src/errors.ts';
import { resolveConfig } from '../../src/config/index.ts';
import { planModules, selectModules } from '../../src/modules/index.ts';
import { globToRegExp } from '../../src/modules/file-map.ts';
import { javaCommand, quoteWord } from '../../src/modules/run-config.ts';
import { readModuleFile } from '../../src/modules/module-file.ts';

/** A temp project; `files` are paths under it (module folders under modules/) → text. */
function project(t: { after: (fn: () => void) => void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-osv-model-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

const select = (cwd: string, ...args: string[]) => selectModules(resolveConfig(args, { cwd }));
const plan = (cwd: string, args: string[], requireFiles = true) => planModules(select(cwd, ...args), join(cwd, 'build', '.modules'), { requireFiles });

function usage(...patterns: RegExp[]) {
  return (e: Error) => {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${e?.constructor?.name}: ${e?.message}`);
    for (const p of patterns) assert.match(`${e.message}\n${e.hint ?? ''}`, p);
    return true;
  };
}

// ---- run configurations ----

test('image=NAME.CONFIG picks a run configuration; without one the default runs', (t) => {
  const cwd = project(t, { 'modules/app/module.yaml': 'run: /app\nconfigs:\n  loud: /app --loud\n  quiet: /app -q\n' });
  assert.equal(plan(cwd, ['image=app']).command, '/app');
  assert.equal(plan(cwd, ['image=app.loud']).command, '/app --loud');
  assert.equal(plan(cwd, ['image=app.default']).command, '/app');
  const sel = select(cwd, 'image=app.quiet');
  assert.deepEqual(sel.requested, ['app']);
  assert.equal(sel.configs.get('app'), 'quiet');
  assert.equal(plan(cwd, ['image=app.quiet']).order[0]!.config, 'quiet');
  // !app.loud removes the module whatever the configuration.
  assert.deepEqual(select(cwd, 'image=app.loud', 'modules=!app.loud').order, []);
});

test('an unknown configuration names the ones there are; no default and none chosen is an error', (t) => {
  const cwd = project(t, {
    'modules/app/module.yaml': 'run: /app\nconfigs: {loud: /app --loud}\n',
    'modules/only/module.yaml': 'configs: {a: /a, b: /b}\n',
    'modules/plain/module.yaml': '',
  });
  assert.throws(() => select(cwd, 'image=app.shout'), usage(/image=app\.shout: module app has no run configuration shout/, /its configurations: default, loud/));
  assert.throws(() => select(cwd, 'image=only'), usage(/module only has no default run configuration/, /image=only\.a or image=only\.b/));
  assert.equal(plan(cwd, ['image=only.b']).command, '/b');
  assert.throws(() => select(cwd, 'image=plain.x'), usage(/plain has no run configurations/));
  assert.throws(() => select(cwd, 'image=app.loud,app.default'), usage(/two run configurations asked for \(loud and default\)/));
  // A module whose name has a dot is found by its full name first.
  const dotted = project(t, { 'modules/a.b/module.yaml': 'run: /ab\n' });
  assert.equal(plan(dotted, ['image=a.b']).command, '/ab');
});

test('the Java run form becomes a java command line; words are quoted for the init grammar', (t) => {
  assert.equal(
    javaCommand({ classpath: ['/app/a.jar', '/app/lib'], main: 'com.example.Main', jvmOptions: ['-Xmx64m', '-Dgreeting=hello world'], args: ['one', "it's"] }),
    `java -Xmx64m '-Dgreeting=hello world' -cp /app/a.jar:/app/lib com.example.Main one 'it'\\''s'`,
  );
  assert.equal(javaCommand({ classpath: [], jar: '/app/hello.jar', jvmOptions: [], args: ['$HOME', 'a;b'] }), `java -jar /app/hello.jar '$HOME' 'a;b'`);
  assert.equal(quoteWord('--env=A=1'), '--env=A=1');
  const cwd = project(t, {
    'modules/japp/module.yaml':
      'run:\n  java:\n    classpath: [/app/hello.jar]\n    main: Hello\n    jvm_options: [-Xss512k]\n    args: [x]\nconfigs:\n  jar: {java: {jar: /app/hello.jar, args: [y]}}\n',
  });
  const def = readModuleFile(join(cwd, 'modules', 'japp'));
  assert.equal(def.run, 'java -Xss512k -cp /app/hello.jar Hello x');
  assert.deepEqual(def.configs.default!.java?.classpath, ['/app/hello.jar']);
  assert.equal(plan(cwd, ['image=japp.jar']).command, 'java -jar /app/hello.jar y');
});

// ---- run_on_init ----

test('run_on_init commands run before every application, dependencies first, in the order written', (t) => {
  const cwd = project(t, {
    'modules/base/module.yaml': 'run_on_init: [/base-init-1, /base-init-2]\nrun: /base-server &!\n',
    'modules/app/module.yaml': 'requires: [base]\nrun_on_init: [/app-init]\nrun: /app\nconfigs: {other: /app --other}\n',
  });
  assert.equal(plan(cwd, ['image=app']).command, '/base-init-1 ; /base-init-2 ; /app-init ; /base-server &! /app');
  assert.equal(plan(cwd, ['image=app.other']).command, '/base-init-1 ; /base-init-2 ; /app-init ; /base-server &! /app --other');
  assert.throws(() => readModuleFile(join(project(t, { 'm/module.yaml': 'run_on_init: ["  "]\n' }), 'm')), usage(/run_on_init has an empty command/));
});

// ---- provides ----

test('provides: a requirement is met by the only module that provides it', (t) => {
  const cwd = project(t, { 'modules/app/module.yaml': 'requires: [java]\n', 'modules/myjdk/module.yaml': 'provides: [java, jre]\n' });
  const sel = select(cwd, 'image=app');
  assert.deepEqual(sel.order.map((m) => m.name), ['myjdk', 'app']);
  assert.deepEqual(Object.fromEntries(sel.edges), { app: ['myjdk'], myjdk: [] });
  assert.deepEqual(Object.fromEntries(sel.provided), { java: 'myjdk' });
  // The built-in openjdk provides java too: the project's provider wins; removing it leaves openjdk.
  assert.deepEqual(select(cwd, 'image=app', 'modules=!myjdk').order.map((m) => m.name), ['ca-certificates', 'openjdk', 'app']);
});

test('provides: several candidates is an error naming them, unless one is in the image; a module of that name wins', (t) => {
  const cwd = project(t, {
    'modules/app/module.yaml': 'requires: [java]\n',
    'modules/jdk-a/module.yaml': 'provides: [java]\n',
    'modules/jdk-b/module.yaml': 'provides: [java]\n',
  });
  assert.throws(() => select(cwd, 'image=app'), usage(/java \(required by app\) is provided by several modules: jdk-a, jdk-b/, /modules=jdk-a/));
  assert.deepEqual(select(cwd, 'image=app', 'modules=jdk-b').order.map((m) => m.name), ['jdk-b', 'app']);
  assert.deepEqual(select(cwd, 'image=jdk-a,app').order.map((m) => m.name), ['jdk-a', 'app']);
  // Removing one candidate leaves the other.
  assert.deepEqual(select(cwd, 'image=app', 'modules=!jdk-a').order.map((m) => m.name), ['jdk-b', 'app']);
  const named = project(t, { 'modules/app/module.yaml': 'requires: [java]\n', 'modules/java/module.yaml': '', 'modules/other/module.yaml': 'provides: [java]\n' });
  assert.deepEqual(select(named, 'image=app').order.map((m) => m.name), ['java', 'app']);
});

test('the built-in openjdk module provides java', (t) => {
  const cwd = project(t, { 'modules/app/module.yaml': 'requires: [java]\n' });
  assert.deepEqual(select(cwd, 'image=app').order.map((m) => m.name), ['ca-certificates', 'openjdk', 'app']);
});

// ---- files: maps ----

test('globs: * and ? stay in one segment, ** crosses them, **/ may match nothing', () => {
  const m = (g: string, p: string) => globToRegExp(g).test(p);
  assert.ok(m('*.txt', 'a.txt'));
  assert.ok(!m('*.txt', 'd/a.txt'));
  assert.ok(m('**/*.txt', 'a.txt'));
  assert.ok(m('**/*.txt', 'd/e/a.txt'));
  assert.ok(m('lib/**', 'lib/x/y.so'));
  assert.ok(!m('lib/**', 'libx/y.so'));
  assert.ok(m('a?c', 'abc'));
  assert.ok(!m('a?c', 'a/c'));
  assert.ok(m('a+b(1).txt', 'a+b(1).txt'), 'regex characters are literal');
});

test('files: include and exclude globs select files under the guest folder; a missing folder is pending or an error', (t) => {
  const cwd = project(t, {
    'modules/m/module.yaml': 'files:\n  - from: data\n    to: /etc/m\n    include: ["*.txt", "sub/**"]\n    exclude: ["draft-*", "**/*.bak"]\n  - from: ${MODULE_BUILD}/out\n    to: /opt\n',
    'modules/m/data/a.txt': 'a',
    'modules/m/data/draft-b.txt': 'b',
    'modules/m/data/c.md': 'c',
    'modules/m/data/sub/d/e.so': 'e',
    'modules/m/data/sub/f.bak': 'f',
  });
  const p = plan(cwd, ['image=m'], false);
  assert.deepEqual(p.manifest.map((e) => e.guestPath), ['/etc/m/a.txt', '/etc/m/sub/d/e.so']);
  assert.deepEqual(p.pending, [`${join(cwd, 'modules/m/module.yaml')}: files[1]: \${MODULE_BUILD}/out -> /opt (made by the build)`]);
  assert.throws(() => plan(cwd, ['image=m']), usage(/module\.yaml: files\[1\]: from: .*build\/\.modules\/m\/out does not exist/, /build: command/));
  mkdirSync(join(cwd, 'build/.modules/m/out/bin'), { recursive: true });
  writeFileSync(join(cwd, 'build/.modules/m/out/bin/tool'), 'x');
  assert.equal(plan(cwd, ['image=m']).manifest.find((e) => e.guestPath === '/opt/bin/tool')?.source.kind, 'file');
  // One file to one guest path (usr_files.add(FILE).to(PATH)).
  const one = project(t, { 'modules/f/module.yaml': 'files: [{from: jvm.so, to: /usr/mgmt/plugins/jvm.so}]\n', 'modules/f/jvm.so': 'j' });
  assert.deepEqual(plan(one, ['image=f']).manifest.map((e) => [e.guestPath, e.source]), [['/usr/mgmt/plugins/jvm.so', { kind: 'file', path: join(one, 'modules/f/jvm.so') }]]);
});

// ---- manifests as OSv reads them ----

test('a usr.manifest the build writes is read when the plan is made (after the build), not when the module is found', (t) => {
  const cwd = project(t, { 'modules/gen/module.yaml': 'build: ./make-it\nrun: /x\n', 'modules/gen/ROOTFS/.keep': '' });
  const sel = select(cwd, 'image=gen');
  const preview = planModules(sel, join(cwd, 'build', '.modules'), { requireFiles: false });
  assert.deepEqual(preview.manifest, []);
  assert.match(preview.pending!.join('\n'), /gen\/usr\.manifest: read after the build/);
  // What the build does: a tree and a manifest with /** at the guest root.
  mkdirSync(join(cwd, 'modules/gen/ROOTFS/lib'), { recursive: true });
  writeFileSync(join(cwd, 'modules/gen/ROOTFS/x'), 'x');
  writeFileSync(join(cwd, 'modules/gen/ROOTFS/lib/python.so'), 'p');
  writeFileSync(join(cwd, 'modules/gen/usr.manifest'), '/**: ${MODULE_DIR}/ROOTFS/**\n');
  const p = planModules(sel, join(cwd, 'build', '.modules'));
  assert.deepEqual(p.manifest.map((e) => e.guestPath), ['/.keep', '/lib', '/lib/python.so', '/x']);
});

test('deps previews a /** tree the build has yet to make as pending; the build itself names file and line', (t) => {
  const cwd = project(t, { 'modules/gen/module.yaml': 'build: make\n', 'modules/gen/usr.manifest': '# made by make\n/app/**: ${MODULE_DIR}/ROOTFS/**\n' });
  assert.deepEqual(plan(cwd, ['image=gen'], false).pending, [`${join(cwd, 'modules/gen/usr.manifest')}:2: /app/** <- ${join(cwd, 'modules/gen/ROOTFS')}/** (made by the build)`]);
  assert.throws(() => plan(cwd, ['image=gen']), usage(/gen\/usr\.manifest:2: .*ROOTFS does not exist/, /build: command/));
});

test('${OSV_BASE} gets a hint; a folder where a file is expected names file and line', (t) => {
  const cwd = project(t, {
    'modules/o/module.yaml': '',
    'modules/o/usr.manifest': '/x: ${OSV_BASE}/apps/o/x\n',
    'modules/d/module.yaml': '',
    'modules/d/usr.manifest': '/etc/conf: ${MODULE_DIR}/conf\n',
    'modules/d/conf/a': 'a',
  });
  assert.throws(() => plan(cwd, ['image=o']), usage(/o\/usr\.manifest:1: \$\{OSV_BASE\} \(the OSv source tree\) has no meaning here/, /\$\{MODULE_DIR\}/));
  assert.throws(() => plan(cwd, ['image=d']), usage(/d\/usr\.manifest:1: .*conf is a folder, where a file is expected/, /\/guest\/dir\/\*\*: host\/dir\/\*\*/));
});

// ---- lookup ----

test('a folder with module.py and no module.yaml is an error naming tailor modules import', (t) => {
  const cwd = project(t, { 'modules/osvapp/module.py': "from osv.modules import api\ndefault = api.run('/x')\n", 'modules/other/module.yaml': 'requires: [osvapp]\n' });
  const old = process.cwd();
  process.chdir(cwd); // the hint names the folder relative to where tailor runs
  t.after(() => process.chdir(old));
  assert.throws(() => select(cwd, 'image=osvapp'), usage(/module osvapp: .*modules\/osvapp has an OSv module\.py but no module\.yaml/, /tailor modules import modules\/osvapp/));
  assert.throws(() => select(cwd, 'image=other'), usage(/tailor modules import/));
  assert.throws(() => select(cwd, 'image=osvapp.shout'), usage(/osvapp has an OSv module\.py but no module\.yaml/, /tailor modules import/));
  assert.throws(() => select(cwd, `modules=${join(cwd, 'modules', 'osvapp')}`), usage(/has an OSv module\.py but no module\.yaml/));
});

test('a project module that shadows a built-in one gives one note when it is used', (t) => {
  const cwd = project(t, { 'modules/native-example/module.yaml': 'run: /mine\n', 'modules/solo/module.yaml': '' });
  assert.deepEqual(plan(cwd, ['image=native-example']).notes, [`module native-example: ${join(cwd, 'modules', 'native-example')} shadows the built-in module of that name`]);
  assert.deepEqual(plan(cwd, ['image=solo']).notes, []);
});
