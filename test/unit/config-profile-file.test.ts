// The profile reader (src/config/profile-file.ts): the make subset OSv's conf/*.mk files use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../src/errors.ts';
import { readProfileFile } from '../../src/config/profile-file.ts';

/** A temp folder with the given files (relative path → text); removed after the test. */
function tree(t: { after: (fn: () => void) => void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-profile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

const brief = (list: ReturnType<typeof readProfileFile>) => list.map((a) => [a.key, a.op, a.value, a.line]);

test('reads =, :=, ?= and += with their operators, values and line numbers', (t) => {
  const dir = tree(t, { 'a.mk': 'fs = rofs\nkernel:=custom\n\nmode ?= debug\nCFLAGS += -Os  -march=x86-64-v3\n' });
  assert.deepEqual(brief(readProfileFile(join(dir, 'a.mk'))), [
    ['fs', '=', 'rofs', 1],
    ['kernel', ':=', 'custom', 2],
    ['mode', '?=', 'debug', 4],
    ['CFLAGS', '+=', '-Os  -march=x86-64-v3', 5],
  ]);
});

test('comments: whole lines, trailing comments, and \\# as a literal #', (t) => {
  const dir = tree(t, { 'a.mk': '# a comment\n   # indented comment\nfs = rofs # trailing\nname = a\\#b # real comment\n' });
  assert.deepEqual(brief(readProfileFile(join(dir, 'a.mk'))), [
    ['fs', '=', 'rofs', 3],
    ['name', '=', 'a#b', 4],
  ]);
});

test('a trailing backslash continues the value on the next line', (t) => {
  const dir = tree(t, { 'a.mk': 'CFLAGS += -Os \\\n   -march=x86-64-v3 \\\n   -mavx2\nfs = ext4\n' });
  const got = readProfileFile(join(dir, 'a.mk'));
  assert.equal(got.length, 2);
  assert.equal(got[0]!.key, 'CFLAGS');
  assert.deepEqual(got[0]!.value.split(/\s+/), ['-Os', '-march=x86-64-v3', '-mavx2']);
  assert.equal(got[0]!.line, 1);
  // The line after a continuation keeps its own number.
  assert.deepEqual([got[1]!.key, got[1]!.value, got[1]!.line], ['fs', 'ext4', 4]);
});

test('include is relative to the including file, and its lines keep their own file and line', (t) => {
  const dir = tree(t, {
    'top/a.mk': 'fs = rofs\ninclude sub/b.mk\nmode = debug\n',
    'top/sub/b.mk': '# b\nkernel = custom\ninclude ../c.mk\n',
    'top/c.mk': 'opt = -O3\n',
  });
  const got = readProfileFile(join(dir, 'top', 'a.mk'));
  assert.deepEqual(
    got.map((a) => [a.key, a.file, a.line]),
    [
      ['fs', join(dir, 'top/a.mk'), 1],
      ['kernel', join(dir, 'top/sub/b.mk'), 2],
      ['opt', join(dir, 'top/c.mk'), 1],
      ['mode', join(dir, 'top/a.mk'), 3],
    ],
  );
});

test('-include of a missing file is skipped; include of a missing file is an error with file and line', (t) => {
  const dir = tree(t, { 'a.mk': 'fs = rofs\n-include nowhere.mk\nmode = debug\n', 'b.mk': '\nfs = rofs\ninclude nowhere.mk\n' });
  assert.deepEqual(brief(readProfileFile(join(dir, 'a.mk'))), [
    ['fs', '=', 'rofs', 1],
    ['mode', '=', 'debug', 3],
  ]);
  assert.throws(
    () => readProfileFile(join(dir, 'b.mk')),
    (e: Error) => e instanceof UsageError && e.message.includes(`${join(dir, 'b.mk')}:3`) && e.message.includes('nowhere.mk'),
  );
});

test('an include cycle is an error that names the files of the cycle', (t) => {
  const dir = tree(t, { 'a.mk': 'include b.mk\n', 'b.mk': 'fs = rofs\ninclude a.mk\n' });
  assert.throws(
    () => readProfileFile(join(dir, 'a.mk')),
    (e: Error) =>
      e instanceof UsageError &&
      /include cycle/.test(e.message) &&
      e.message.includes(`${join(dir, 'a.mk')} -> ${join(dir, 'b.mk')} -> ${join(dir, 'a.mk')}`),
  );
});

test('a line that is not an assignment is a UsageError naming the file, the line number and the text', (t) => {
  const dir = tree(t, { 'bad.mk': 'fs = rofs\n# fine\nthis is not make\n' });
  assert.throws(
    () => readProfileFile(join(dir, 'bad.mk')),
    (e: Error) =>
      e instanceof UsageError &&
      e.exitCode === 2 &&
      e.message.startsWith(`${join(dir, 'bad.mk')}:3:`) &&
      e.message.includes('this is not make'),
  );
  // A make rule is not part of the subset either.
  const rule = tree(t, { 'rule.mk': 'all: foo\n' });
  assert.throws(() => readProfileFile(join(rule, 'rule.mk')), (e: Error) => e instanceof UsageError && e.message.includes('rule.mk:1'));
});

test('a missing profile file is a UsageError', () => {
  assert.throws(() => readProfileFile('/nonexistent/tailor/x.mk'), (e: Error) => e instanceof UsageError && e.message.includes('/nonexistent/tailor/x.mk'));
});
