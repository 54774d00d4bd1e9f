// Seeded fuzz of the module readers: module.yaml (src/modules/module-file.ts)
// and usr.manifest (src/modules/manifest.ts, parse and expand). Inputs are
// near-valid documents from a grammar plus byte mutations of the repository's
// own modules; each is written to a real file and read the way a build does.
// Only a TailorError naming the file may come out (with the line for YAML
// syntax errors and for every usr.manifest error).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import YAML from 'yaml';
import { readModuleFile } from '../../src/modules/module-file.ts';
import { expandManifest, readManifestFile } from '../../src/modules/manifest.ts';
import { repoRoot } from '../../src/util/paths.ts';
import { awkward, describe, expectNames, fuzz, mutatedSample, textOf } from './fuzz-support.ts';

const moduleDirs = readdirSync(join(repoRoot, 'modules')).map((m) => join(repoRoot, 'modules', m));
const samplesOf = (name: string) =>
  moduleDirs.map((d) => join(d, name)).filter((f) => existsSync(f)).map((f) => readFileSync(f));

const names = fc.constantFrom('native-example', 'libz', 'cli', 'x', 'Name With Space', '../up', '', 'a/b');
const scalar = fc.oneof(names, awkward, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const value = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 4 }),
  fc.array(fc.record({ require: scalar, if_present: scalar }, { requiredKeys: [] }), { maxLength: 3 }),
  fc.dictionary(fc.oneof(names, awkward), fc.oneof(scalar, fc.constantFrom('/bin/busybox', 'relative/path')), { maxKeys: 3 }),
);
const keys = fc.constantFrom('name', 'description', 'requires', 'requires_if_present', 'kernel', 'run', 'build', 'packages', 'bogus', '<<', '__proto__');

/** Documents as YAML would write them, and hand-made lines with YAML's sharper edges. */
const moduleYaml = fc.oneof(
  fc.array(fc.tuple(keys, value), { maxLength: 6 }).map((pairs) => YAML.stringify(Object.fromEntries(pairs))),
  textOf(
    fc.oneof(
      fc.tuple(keys, fc.constantFrom(': ', ':', ' : ', ': [', ': {', ': |', ': >-', ': &a ', ': *a', ': !!binary ', ': !tag ', ': "', ": '"), fc.oneof(names, awkward)).map((p) => p.join('')),
      fc.tuple(fc.constantFrom('  - ', '- ', '    ', '\t', '  '), fc.oneof(names, awkward)).map((p) => p.join('')),
      fc.constantFrom('---', '...', '%YAML 1.2', '? complex', '[', '}', '*undefined_alias', 'a: &x [*x]', 'a: b: c'),
    ),
  ),
  mutatedSample(samplesOf('module.yaml')).map((b) => b.toString('latin1')),
);

/** A sandbox the manifests point into: files, a directory tree, links (one broken), a build folder. */
function sandbox(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-fuzz-modules-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'tree', 'sub'), { recursive: true });
  mkdirSync(join(dir, 'build'), { recursive: true });
  writeFileSync(join(dir, 'file'), 'x');
  writeFileSync(join(dir, 'tree', 'a'), 'a');
  writeFileSync(join(dir, 'tree', 'sub', 'b'), 'b');
  writeFileSync(join(dir, 'build', 'out'), 'o');
  symlinkSync('file', join(dir, 'link'));
  symlinkSync('nowhere', join(dir, 'broken'));
  symlinkSync('../file', join(dir, 'tree', 'up'));
  return dir;
}

test('module.yaml: thousands of near-valid and mutated documents, only TailorErrors naming the file', (t) => {
  const dir = sandbox(t);
  const file = join(dir, 'module.yaml');
  const o = fuzz({
    seed: 0x6d6f64,
    numRuns: 2000,
    budgetMs: 15_000,
    input: moduleYaml,
    parse: (text) => {
      writeFileSync(file, text, 'latin1');
      readModuleFile(dir);
    },
    rejection: (err, text) => {
      // YAML's own complaints carry a line; the reader's checks of keys and types name the file
      const doc = YAML.parseDocument(text);
      expectNames(err, file, doc.errors.length + doc.warnings.length > 0 || /not valid YAML/.test(err.message));
    },
  });
  t.diagnostic(describe('module.yaml', o));
  assert.ok(o.inputs >= 300, `only ${o.inputs} inputs inside the time budget`);
  assert.ok(o.accepted > 0 && o.rejected > 0, 'the inputs should be both accepted and rejected');
});

const guestPaths = fc.constantFrom('/bin/x', '/etc/a.conf', '/usr/lib/&/libz.so.1', '/data/**', '/lib/', '/', 'relative', '/a/../b', '/${MODULE_DIR}', '');
const hostPaths = fc.constantFrom(
  'file', 'link', 'broken', 'missing', 'tree/**', '${MODULE_DIR}/tree/**', '${MODULE_DIR}/file', '${MODULE_BUILD}/out', '${UNKNOWN}/x',
  '->file', '->/bin/x', '->', '!link', '!broken', '${MODULE_DIR}/&', 'tree/&', 'file/**', '/nonexistent/**', '', '${', '$MODULE_DIR/file',
);
const manifestLine = fc.oneof(
  { arbitrary: fc.tuple(guestPaths, fc.constant(': '), hostPaths).map((p) => p.join('')), weight: 8 },
  {
    arbitrary: fc
      .tuple(fc.oneof(guestPaths, awkward), fc.constantFrom(': ', ':', ' : ', ':  '), fc.oneof(hostPaths, awkward), fc.constantFrom('', ' # note', '#x'))
      .map((p) => p.join('')),
    weight: 1,
  },
  { arbitrary: fc.constantFrom('[manifest]', '[bad section', '# comment', '', '   ', '\t/bin/x: file', '/bin/x: file: extra'), weight: 1 },
  { arbitrary: awkward, weight: 1 },
);
const manifestText = fc.oneof(textOf(manifestLine, 6), mutatedSample(samplesOf('usr.manifest')).map((b) => b.toString('latin1')));

test('usr.manifest: parsed and expanded against a sandbox, every rejection names the file and line', (t) => {
  const dir = sandbox(t);
  const file = join(dir, 'usr.manifest');
  const variables = { MODULE_DIR: dir, MODULE_BUILD: join(dir, 'build') };
  let expanded = 0;
  const o = fuzz({
    seed: 0x757372,
    numRuns: 3000,
    budgetMs: 15_000,
    input: fc.tuple(manifestText, fc.boolean()),
    parse: ([text, requireFiles]) => {
      writeFileSync(file, text, 'latin1');
      const lines = readManifestFile(file);
      // a /** line must not walk the host outside the sandbox (mutated samples may name / or /usr)
      const walksOut = lines.some((l) => l.host.includes('**') && !resolve(dir, l.host.replace(/^!/, '').replace(/\$\{MODULE_(DIR|BUILD)\}/g, dir)).startsWith(dir));
      if (walksOut) return;
      expandManifest(lines, { module: 'fuzz', file, variables, baseDir: dir, requireFiles });
      expanded++;
    },
    rejection: (err) => expectNames(err, file, true),
  });
  t.diagnostic(describe('usr.manifest', o) + `; ${expanded} expanded without error`);
  assert.ok(o.inputs >= 300, `only ${o.inputs} inputs inside the time budget`);
  assert.ok(expanded > 0 && o.rejected > 0);
});
