// `tailor modules import` (src/modules/osv-import.ts, osv-python.ts): OSv module.py parsed, never run,
// translated into module.yaml; what cannot be translated is listed line by line and nothing is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseModulePy } from '../../src/modules/osv-python.ts';
import { importOsvModule, translateOsvModule } from '../../src/modules/osv-import.ts';
import { readModuleFile } from '../../src/modules/module-file.ts';
import { repoRoot } from '../../src/util/paths.ts';

const fixtures = fileURLToPath(new URL('../fixtures/osv-apps/', import.meta.url));

/** A folder `name` holding the given files. */
function folder(t: { after: (fn: () => void) => void }, name: string, files: Record<string, string>): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'tailor-osv-import-')), name);
  t.after(() => rmSync(join(dir, '..'), { recursive: true, force: true }));
  mkdirSync(dir, { recursive: true });
  for (const [rel, text] of Object.entries(files)) writeFileSync(join(dir, rel), text);
  return dir;
}

const translate = (t: { after: (fn: () => void) => void }, py: string, extra: Record<string, string> = {}, name = 'app') =>
  translateOsvModule(folder(t, name, { 'module.py': py, ...extra }));

test('parser: statements with their lines; continuation, brackets, adjacent and f-strings; blocks are unsupported', () => {
  const st = parseModulePy(
    "import os\nfrom osv.modules import api  # comment\n\nx = 'a' \\\n  \"b\"\ny = [\n  'c',\n]\nif x:\n    api.run('/z')\nz = f'{x}-1'\n",
  );
  assert.deepEqual(st.map((s) => [s.kind, s.line, s.endLine]), [
    ['import', 1, 1],
    ['import', 2, 2],
    ['assign', 4, 5],
    ['assign', 6, 8],
    ['unsupported', 9, 9],
    ['unsupported', 10, 10],
    ['assign', 11, 11],
  ]);
  assert.deepEqual(st[1], { kind: 'import', from: 'osv.modules', names: ['api'], line: 2, endLine: 2 });
  assert.deepEqual(parseModulePy("a = x ** 2\n")[0]!.kind, 'unsupported');
  assert.deepEqual(parseModulePy("a = x[0]\n")[0], { kind: 'unsupported', reason: 'subscripts ([...]) are not translated', line: 1, endLine: 1 });
});

test('the osv-apps-like fixtures translate completely: requires, two configurations, run_on_init, make module; provides and a FileMap', () => {
  const hello = translateOsvModule(join(fixtures, 'hello-osv'));
  assert.deepEqual(hello.untranslated, []);
  assert.deepEqual(hello.module, {
    description: "hello-osv, imported from OSv's module.py by tailor modules import",
    requires: ['greeting'],
    build: 'make module',
    run: '/hello',
    configs: { shout: '--env=HELLO_MODE=shout /hello shout' },
    run_on_init: ['/hello init'],
  });
  assert.match(hello.notes.join('\n'), /usr\.manifest is written by the Makefile: Tailor reads it after the build/);
  const greeter = translateOsvModule(join(fixtures, 'greeter'));
  assert.deepEqual(greeter.untranslated, []);
  assert.deepEqual(greeter.module.provides, ['greeting']);
  assert.deepEqual(greeter.module.files, [{ from: '${MODULE_DIR}/data', to: '/etc/greeting', include: ['*.txt'], exclude: ['draft-*'] }]);
});

test('the written module.yaml is read back as the same module (configurations, java form, files)', (t) => {
  const dir = folder(t, 'japp', {
    'module.py': [
      'from osv.modules.api import *',
      "require('java')",
      "default = run_java(classpath=['/app/a.jar'], jvm_args=['-Xmx64m'], args=['-Dk=v', 'app.Main', 'one'])",
      "jar = run_java(args=['-jar', '/app/app.jar', 'two'], sysprops={'p': 'q r'})",
      "native = api.run('/java.so -jar /app/app.jar')",
      "cwd = run(' --cwd=/app '\n  '/java.so -cp /app/a.jar app.Main ')",
    ].join('\n').replace('api.run', 'run'),
  });
  const r = importOsvModule(dir);
  assert.deepEqual(r.untranslated, []);
  const text = readFileSync(join(dir, 'module.yaml'), 'utf8');
  assert.match(text, /^# Written by `tailor modules import` from .*japp\/module\.py/);
  const def = readModuleFile(dir);
  assert.deepEqual(def.requires, ['java']);
  assert.equal(def.configs.default!.command, 'java -Xmx64m -Dk=v -cp /app/a.jar app.Main one');
  assert.equal(def.configs.jar!.command, "java '-Dp=q r' -jar /app/app.jar two");
  assert.equal(def.configs.native!.command, 'java -jar /app/app.jar');
  assert.equal(def.configs.cwd!.command, '--cwd=/app java -cp /app/a.jar app.Main');
  // An existing module.yaml is kept unless --force.
  assert.throws(() => importOsvModule(dir), /already exists/);
  importOsvModule(dir, { force: true });
});

test('what cannot be translated is listed with its lines, and nothing is written', (t) => {
  const py = [
    'from osv.modules import api', // 1
    'import subprocess', // 2
    "api.require('a')", // 3
    "subprocess.call(['make'])", // 4
    'if True:', // 5
    "    api.require('b')", // 6
    "api.run('/lonely')", // 7
    "api.add_file('x')", // 8
    "other = api.run('/x ' + str(1))", // 9
    "default = api.run(",
    "    '/app')", // 10-11: translated across lines
  ].join('\n');
  const dir = folder(t, 'app', { 'module.py': py, 'usr.manifest': '/a: ${OSV_BASE}/apps/app/a\n/b: ${OSV_BASE}/modules/java/b\n' });
  const r = importOsvModule(dir);
  assert.deepEqual(
    r.untranslated.map((u) => [u.file.split('/').pop(), u.line]),
    [['module.py', 4], ['module.py', 5], ['usr.manifest', 1], ['usr.manifest', 2], ['module.py', 6], ['module.py', 7], ['module.py', 8], ['module.py', 9]].sort((a, b) => (a[1] as number) - (b[1] as number)),
  );
  const by = (file: string, line: number) => r.untranslated.find((u) => u.file.endsWith(file) && u.line === line)!.reason;
  assert.match(by('module.py', 4), /subprocess is not a name/);
  assert.match(by('module.py', 5), /Python if statements are not translated/);
  assert.match(by('module.py', 6), /inside the block above/);
  assert.match(by('module.py', 7), /must be assigned to a name/);
  assert.match(by('module.py', 8), /api\.add_file has no Tailor equivalent/);
  assert.match(by('usr.manifest', 1), /write: \/a: \$\{MODULE_DIR\}\/a/);
  assert.match(by('usr.manifest', 2), /OSv's source tree/);
  assert.deepEqual(r.module.requires, ['a']);
  assert.equal(r.module.run, '/app');
  assert.ok(!existsSync(join(dir, 'module.yaml')), 'nothing written');
  // --partial writes it, with the lines as TODO comments.
  importOsvModule(dir, { partial: true });
  assert.match(readFileSync(join(dir, 'module.yaml'), 'utf8'), /^# TODO module\.py:4: subprocess\.call\(\['make'\]\) -- subprocess is not a name/m);
});

test('${OSV_BASE} paths: the module\'s own folder becomes ${MODULE_DIR}; elsewhere in OSv is listed', (t) => {
  const r = translate(
    t,
    [
      'import os',
      'from osv.modules.filemap import FileMap',
      "_module = '${OSV_BASE}/apps/app'",
      'usr_files = FileMap()',
      "usr_files.add(os.path.join(_module, 'ROOTFS')).to('/').include('lib/**').exclude('**/*.a')",
      "usr_files.add('${OSV_BASE}/modules/java/x').to('/x')",
      "usr_files.add('${OSV_BASE}/apps/app')",
      "usr_files.add('${OSV_BASE}/apps/app/install').to('/').allow_symlink()",
      "usr_files.link('/usr/lib/jvm/jre').to('/usr/lib/jvm/java/jre')",
    ].join('\n'),
  );
  assert.deepEqual(r.module.files, [
    { from: '${MODULE_DIR}/ROOTFS', to: '/', include: ['lib/**'], exclude: ['**/*.a'] },
    { from: '${MODULE_DIR}/install', to: '/' },
  ]);
  assert.deepEqual(r.untranslated.map((u) => u.line), [6, 7, 9]);
  assert.match(r.untranslated[2]!.reason, /a symlink: write it in usr\.manifest as "\/usr\/lib\/jvm\/jre: ->\/usr\/lib\/jvm\/java\/jre"/);
  assert.match(r.untranslated[0]!.reason, /\$\{OSV_BASE\}\/modules\/java\/x is in OSv's source tree, outside this module/);
  assert.match(r.untranslated[1]!.reason, /usr_files\.add\(\.\.\.\) without \.to\(GUEST_PATH\)/);
});

test('%-formatting and list append/extend are followed (tomcat-style module.py)', (t) => {
  const r = translate(
    t,
    [
      'from osv.modules import api',
      "_base = '/usr/tomcat'",
      "_cp = [_base + '/bin/bootstrap.jar']",
      "_cp.append('%s/bin/juli.jar' % _base)",
      "_opts = ['-Dhome=%s' % _base, '-Dpct=%d%%' % 100]",
      "_opts.extend(['-Dtmp=%s/%s' % (_base, 'temp')])",
      "default = api.run_java(classpath=_cp, args=_opts + ['org.apache.Main', 'start'])",
      "bad = api.run('%x' % _base)",
    ].join('\n'),
  );
  assert.deepEqual(r.module.run, {
    java: { main: 'org.apache.Main', classpath: ['/usr/tomcat/bin/bootstrap.jar', '/usr/tomcat/bin/juli.jar'], jvm_options: ['-Dhome=/usr/tomcat', '-Dpct=100%', '-Dtmp=/usr/tomcat/temp'], args: ['start'] },
  });
  assert.deepEqual(r.untranslated.map((u) => [u.line, u.reason]), [[8, '% formatting other than %s and %d']]);
});

test('a Makefile without a module: target builds with plain make, with a note; no Makefile, no build', (t) => {
  const r = translate(t, "from osv.modules import api\ndefault = api.run('/x')\n", { Makefile: 'all:\n\ttrue\n' });
  assert.equal(r.module.build, 'make');
  assert.match(r.notes.join('\n'), /no module: target/);
  assert.equal(translate(t, "from osv.modules import api\ndefault = api.run('/x')\n").module.build, undefined);
});

test('CLI: import writes module.yaml and exits 0; untranslatable lines exit non-zero, one per line on stderr', (t) => {
  const dir = folder(t, 'hello-osv', {});
  cpSync(join(fixtures, 'hello-osv'), dir, { recursive: true });
  const tailor = join(repoRoot, 'bin', 'tailor.js');
  const ok = spawnSync(process.execPath, [tailor, 'modules', 'import', dir], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /wrote .*hello-osv\/module\.yaml\nrun configurations: default, shout \(tailor build image=hello-osv\.shout\)/);
  const bad = folder(t, 'bad', { 'module.py': "from osv.modules import api\nfor x in []:\n    pass\ndefault = api.run('/x')\n" });
  const r = spawnSync(process.execPath, [tailor, 'modules', 'import', bad], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /bad\/module\.py:2: for x in \[\]:\n {4}not translated: Python for statements are not translated\n.*bad\/module\.py:3: pass\n/);
  assert.match(r.stderr, /2 lines of .*bad could not be translated; nothing written/);
  assert.ok(!existsSync(join(bad, 'module.yaml')));
});
