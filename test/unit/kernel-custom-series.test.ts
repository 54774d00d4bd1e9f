// Kernel source series (src/kernel/custom/series.ts, patched-source.ts): kernel_patches= and
// module requests become an ordered series with reasons and Tailor-Kconfig lines; a patched
// copy is made per series with real GNU patch, leaves the shared source untouched, and a
// patch that does not apply is a PatchApplyError naming patch, file and hunk with nothing
// left on disk. Trees of an unpatched source may seed a patched build, not the reverse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cache = mkdtempSync(join(tmpdir(), 'tailor-series-'));
process.env.TAILOR_CACHE = cache;
process.on('exit', () => rmSync(cache, { recursive: true, force: true }));

const { composeSeries, moduleSourceRequests, patchKconfig, patchedFiles, seriesFiles, seriesId } = await import('../../src/kernel/custom/series.ts');
const { ensurePatchedSource, firstFailure, PatchApplyError, prunePatchedSources } = await import('../../src/kernel/custom/patched-source.ts');
const { seriesCompatible } = await import('../../src/kernel/custom/tree.ts');
const { composeFragment, describeFragment } = await import('../../src/kernel/custom/fragment.ts');
const { resolveConfig } = await import('../../src/config/index.ts');

const work = mkdtempSync(join(tmpdir(), 'tailor-series-work-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/** A two-file "kernel source". */
function fakeSource(): { version: string; dir: string } {
  const dir = join(work, 'src');
  mkdirSync(join(dir, 'kernel'), { recursive: true });
  writeFileSync(join(dir, 'Makefile'), 'all:\n');
  writeFileSync(join(dir, 'Kbuild'), 'obj-y += kernel/\n');
  writeFileSync(join(dir, 'kernel', 'a.c'), 'int a(void)\n{\n\treturn 1;\n}\n');
  return { version: '6.1.test', dir };
}

const goodPatch = `Tailor-Kconfig: CONFIG_TAILOR_TEST=y

Makes a() return 2 and adds b.c.

--- a/kernel/a.c
+++ b/kernel/a.c
@@ -1,4 +1,4 @@
 int a(void)
 {
-\treturn 1;
+\treturn 2;
 }
--- /dev/null
+++ b/kernel/b.c
@@ -0,0 +1 @@
+int b;
`;

const badPatch = `--- a/kernel/a.c
+++ b/kernel/a.c
@@ -1,4 +1,4 @@
 int a(void)
 {
-\treturn 7;
+\treturn 8;
 }
`;

function writePatch(name: string, text: string): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

test('patchedFiles and patchKconfig read the diff headers and the preamble', () => {
  assert.deepEqual(patchedFiles(goodPatch), ['kernel/a.c', 'kernel/b.c']);
  assert.deepEqual(patchKconfig(goodPatch, 'good.patch'), { TAILOR_TEST: 'y' });
  assert.throws(() => patchKconfig('Tailor-Kconfig: TAILOR_TEST\n--- a/x\n', 'x.patch'), /x\.patch: cannot read/);
});

test('firstFailure names the file and the hunk from GNU patch output', () => {
  assert.deepEqual(firstFailure('checking file kernel/a.c\nHunk #2 FAILED at 10.\n1 out of 2 hunks FAILED\n'), { file: 'kernel/a.c', hunk: 'hunk #2 (at line 10)' });
  assert.equal(firstFailure('checking file kernel/a.c\n')?.hunk, undefined);
});

test('kernel_patches= and module requests compose an ordered series; the same patch twice is applied once', () => {
  const good = writePatch('good.patch', goodPatch);
  const config = resolveConfig([`kernel_patches=${good}`, 'kernel=custom']);
  const requests = moduleSourceRequests([{ name: 'm', kernelPatches: [good], kernelSources: undefined }]);
  const series = composeSeries(config, requests);
  assert.equal(series.length, 1);
  assert.equal(series[0]!.reasons.length, 2);
  assert.match(series[0]!.reasons[1]!, /module m/);
  assert.equal(seriesId([]), '');
  assert.match(seriesId(series), /^[0-9a-f]{16}$/);
  // The patch's Kconfig line joins the fragment with its reason, and kernel config lists the series.
  const fragment = composeFragment(config, [], new Map(), requests);
  assert.deepEqual(fragment.lines.find((l) => l.symbol === 'TAILOR_TEST')?.value, 'y');
  assert.match(describeFragment(fragment), /# {3}1\. patch good\.patch \(sha256 [0-9a-f]{12}\) {2}# kernel_patches=.*; kernel_patches of module m/);
});

test('a missing patch and a Kbuild folder without a Kbuild file are usage errors', () => {
  assert.throws(() => composeSeries(resolveConfig(['kernel_patches=nothere.patch']), []), /nothere\.patch .* does not exist/);
  const empty = join(work, 'empty-kbuild');
  mkdirSync(empty, { recursive: true });
  assert.throws(() => composeSeries(resolveConfig([]), [{ kind: 'kbuild', path: empty, who: 'module x' }]), /has no Kbuild/);
});

test('a patched copy: patches applied, Kbuild folders hooked in, the shared source untouched', async () => {
  const source = fakeSource();
  const kb = join(work, 'drv');
  mkdirSync(kb, { recursive: true });
  writeFileSync(join(kb, 'Kbuild'), 'obj-y += drv.o\n');
  writeFileSync(join(kb, 'drv.c'), 'int drv;\n');
  const series = composeSeries(resolveConfig([`kernel_patches=${writePatch('good.patch', goodPatch)}`]), [{ kind: 'kbuild', path: kb, who: 'module drv' }]);
  const before = readFileSync(join(source.dir, 'kernel/a.c'), 'utf8');
  const patched = await ensurePatchedSource(source, series, () => {});
  assert.notEqual(patched.dir, source.dir);
  assert.match(readFileSync(join(patched.dir, 'kernel/a.c'), 'utf8'), /return 2/);
  assert.equal(readFileSync(join(source.dir, 'kernel/a.c'), 'utf8'), before);
  assert.equal(readFileSync(join(patched.dir, 'kernel/b.c'), 'utf8'), 'int b;\n');
  assert.equal(readFileSync(join(patched.dir, 'tailor/drv/drv.c'), 'utf8'), 'int drv;\n');
  assert.match(readFileSync(join(patched.dir, 'tailor/Kbuild'), 'utf8'), /obj-y \+= drv\//);
  assert.match(readFileSync(join(patched.dir, 'Kbuild'), 'utf8'), /obj-y\s+\+= tailor\//);
  assert.equal(readFileSync(join(source.dir, 'Kbuild'), 'utf8'), 'obj-y += kernel/\n');
  // Unchanged files are shared (hard links), changed ones are private.
  assert.equal(statSync(join(patched.dir, 'Makefile')).ino, statSync(join(source.dir, 'Makefile')).ino);
  assert.notEqual(statSync(join(patched.dir, 'kernel/a.c')).ino, statSync(join(source.dir, 'kernel/a.c')).ino);
  assert.deepEqual(seriesFiles(series), ['Kbuild', 'kernel/a.c', 'kernel/b.c', 'tailor/Kbuild', 'tailor/drv/Kbuild', 'tailor/drv/drv.c']);
  // A second call reuses the copy.
  assert.equal((await ensurePatchedSource(source, series, () => assert.fail('copied twice'))).dir, patched.dir);
});

test('a patch that does not apply names the patch, the file and the hunk, and leaves nothing behind', async () => {
  const source = fakeSource();
  const series = composeSeries(resolveConfig([`kernel_patches=${writePatch('good.patch', goodPatch)},${writePatch('bad.patch', badPatch)}`]), []);
  const err = await ensurePatchedSource(source, series, () => {}).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof PatchApplyError, String(err));
  assert.equal(err.patch, 'bad.patch');
  assert.equal(err.file, 'kernel/a.c');
  assert.match(err.hunk, /hunk #1/);
  assert.match(err.message, /kernel patch bad\.patch .* does not apply .* file kernel\/a\.c, hunk #1/);
  assert.deepEqual(readdirSync(join(cache, 'src-patched')).filter((n) => n.startsWith('.tmp') || n.endsWith(seriesId(series))), []);
  assert.match(readFileSync(join(source.dir, 'kernel/a.c'), 'utf8'), /return 1/);
  assert.ok(!existsSync(join(source.dir, 'kernel/b.c')));
});

test('an unpatched tree may seed a patched build; a patched tree may not seed one without its changes', () => {
  assert.equal(seriesCompatible(undefined, ['kernel/a.c']), true);
  assert.equal(seriesCompatible([], []), true);
  assert.equal(seriesCompatible(['kernel/a.c'], ['kernel/a.c', 'x.c']), true);
  assert.equal(seriesCompatible(['kernel/a.c'], []), false);
});

test('a patch that builds on an earlier one of the series applies (the quick check before copying skips it)', async () => {
  const source = fakeSource();
  const onTop = `--- a/kernel/a.c\n+++ b/kernel/a.c\n@@ -1,4 +1,4 @@\n int a(void)\n {\n-\treturn 2;\n+\treturn 3;\n }\n`;
  const series = composeSeries(resolveConfig([`kernel_patches=${writePatch('good.patch', goodPatch)},${writePatch('ontop.patch', onTop)}`]), []);
  const patched = await ensurePatchedSource(source, series, () => {});
  assert.match(readFileSync(join(patched.dir, 'kernel/a.c'), 'utf8'), /return 3/);
});

test('prune removes patched copies no build tree reads, once they are old enough', async () => {
  const source = fakeSource();
  const series = composeSeries(resolveConfig([`kernel_patches=${writePatch('good.patch', goodPatch)}`]), []);
  const used = (await ensurePatchedSource(source, series, () => {})).dir;
  const trees = join(cache, 'kbuild');
  mkdirSync(join(trees, 'a'.repeat(32)), { recursive: true });
  symlinkSync(used, join(trees, 'a'.repeat(32), 'source'));
  const all = readdirSync(join(cache, 'src-patched')).filter((n) => !n.startsWith('.')).map((n) => join(cache, 'src-patched', n));
  assert.ok(all.length >= 2, all.join(' '));
  // Fresh copies stay (a build that just made one has no tree yet).
  assert.deepEqual(await prunePatchedSources(trees), []);
  const old = new Date(Date.now() - 2 * 3600 * 1000);
  for (const d of all) utimesSync(join(d, '.tailor-series'), old, old);
  const removed = await prunePatchedSources(trees);
  assert.deepEqual(removed.sort(), all.filter((d) => d !== used).sort());
  assert.ok(existsSync(join(used, 'kernel/a.c')));
  assert.match(readFileSync(join(source.dir, 'kernel/a.c'), 'utf8'), /return 1/);
});
