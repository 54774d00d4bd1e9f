// A real `tailor build` (stock kernel: this is about the build folder, not the kernel) and what killed
// builds leave: temporaries of dead processes are removed by the next build, build.json lists every
// file with its sha256, and `tailor run` refuses a folder whose boot files do not match.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../src/util/paths.ts';
import { fileProblems, listedFiles } from '../../src/run/build-folder.ts';
import type { BuildRecord } from '../../src/image/types.ts';
import { fixtureUnavailable } from './run-fixture.ts';
import { runNode } from './node-process.ts';

const tailor = join(repoRoot, 'bin', 'tailor.js');
let work = '';
let unavailable: string | undefined;

const run = (args: string[]) => runNode([tailor, ...args], work);

before(async () => {
  unavailable = await fixtureUnavailable();
  if (unavailable) return;
  work = mkdtempSync(join(tmpdir(), 'tailor-integrity-'));
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('a build removes what killed builds left, keeps a live build\'s, and lists every file with its sha256', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const dead = spawnSync('true').pid!; // a pid that has exited
  const build = join(work, 'build');
  mkdirSync(join(build, `.native-example.tmp-${dead}`, 'export'), { recursive: true });
  writeFileSync(join(build, `.native-example.tmp-${dead}`, 'initrd.img'), 'half-written');
  mkdirSync(join(build, '.modules', `.native-example.tmp-${dead}`), { recursive: true });
  mkdirSync(join(build, `native-example.old-${dead}`));
  mkdirSync(join(build, '.other.tmp-1')); // pid 1 is alive: a build still running
  const b = await run(['build', 'image=native-example', 'fs=ramfs', 'kernel=stock']);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout + b.stderr, new RegExp(`removed build/\\.native-example\\.tmp-${dead} \\(left by a build that was killed\\)`));
  assert.deepEqual(readdirSync(build).sort(), ['.modules', '.other.tmp-1', 'last', 'native-example']);
  assert.deepEqual(readdirSync(join(build, '.modules')), ['native-example']);
  const dir = join(build, 'native-example');
  const record = JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8')) as BuildRecord;
  const listed = listedFiles(record).map((f) => f.file).sort();
  assert.deepEqual(listed, ['bzImage', 'cmdline', 'initrd.img', 'usr.manifest', 'vmlinux']);
  assert.deepEqual(readdirSync(dir).sort(), [...listed, 'build.json'].sort(), 'build.json lists every file of the folder');
  assert.deepEqual(fileProblems(dir, listedFiles(record)), []);
});

test('tailor run refuses a folder whose initramfs changed by one byte, naming the file and tailor build', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const initrd = join(work, 'build', 'native-example', 'initrd.img');
  assert.ok(existsSync(initrd), 'the previous test built the folder');
  const ok = await run(['run', '--dry-run', '--accel', 'tcg']);
  assert.equal(ok.code, 0, ok.stderr);
  // A new file renamed over it, never a write in place: build files may be hard links into the kernel cache.
  const bytes = readFileSync(initrd);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(`${initrd}.new`, bytes);
  renameSync(`${initrd}.new`, initrd);
  const r = await run(['run', '--accel', 'tcg']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /initrd\.img does not have the sha256 build\.json lists .*not used/);
  assert.match(r.stderr, /tailor build/);
  assert.doesNotMatch(r.stdout, /Hello/);
});
