// `tailor build image=native-example fs=ramfs` then `tailor run` and the boot bench: the real kernel
// (Debian stock), the real Tailor init and the real image stage, booted in QEMU under TCG.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../src/util/paths.ts';
import { fixtureUnavailable } from './run-fixture.ts';
import { runNode } from './node-process.ts';

const tailor = join(repoRoot, 'bin', 'tailor.js');
let work = '';
let unavailable: string | undefined;

const run = (args: string[], cwd = work) => runNode(args, cwd);

before(async () => {
  unavailable = await fixtureUnavailable();
  if (unavailable) return;
  work = mkdtempSync(join(tmpdir(), 'tailor-run-real-'));
  const b = await run([tailor, 'build', 'image=native-example', 'fs=ramfs', 'kernel=stock']);
  assert.equal(b.code, 0, `tailor build failed:\n${b.stderr}`);
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('tailor run boots build/last: the hello line, exit 0, the summary line', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const r = await run([tailor, 'run', '--accel', 'tcg', '--timeout', '120']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Hello from Tailor's native-example/);
  assert.match(r.stderr, /tailor: app started after \d+ ms guest time .*; QEMU exited after \d+ ms host wall; accel=tcg; memory=128 MiB/);
});

test('the guest status reaches the host: a program that cannot run is 127', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const r = await run([tailor, 'run', 'native-example', '--accel', 'tcg', '-e', '/hello; /no/such/program', '--timeout', '120']);
  assert.match(r.stdout, /Hello from Tailor's native-example/);
  assert.equal(r.code, 127, r.stderr);
});

test('an unknown init option fails with status 2 and a message naming it', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const r = await run([tailor, 'run', '--accel', 'tcg', '-e', '--nosuchopt /hello', '--timeout', '120']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /tailor: guest init error: .*--nosuchopt/);
  assert.doesNotMatch(r.stdout, /Hello from/);
});

test('-p qemu (q35) boots the same build', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const r = await run([tailor, 'run', '-p', 'qemu', '--accel', 'tcg', '--timeout', '120']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Hello from Tailor's native-example/);
});

test('--dry-run prints the command with -kernel and the build\'s files', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const r = await run([tailor, 'run', '--dry-run', '--accel', 'tcg']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^qemu-system-x86_64 .* -kernel \S+\/build\/native-example\/\S+ -initrd \S+\/build\/native-example\/\S+ .*-append /);
});

test('bench:boot --json: N boots, ordered min/median/max', async (t) => {
  if (unavailable) return t.skip(unavailable);
  // As `npm run bench:boot` runs it: from the repository, naming the build folder.
  const r = await run(['--import', 'tsx', 'bench/boot.ts', join(work, 'build', 'last'), '-n', '2', '--json', '--accel', 'tcg'], repoRoot);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /boot 2\/2: guest \d+ ms/);
  const j = JSON.parse(r.stdout) as Record<string, { min: number; median: number; max: number }> & { boots: number; accel: string };
  assert.equal(j.boots, 2);
  assert.equal(j.accel, 'tcg');
  for (const k of ['guestToAppMs', 'hostToAppMs', 'hostToExitMs']) {
    const s = j[k]!;
    assert.ok(s.min > 0 && s.min <= s.median && s.median <= s.max, `${k}: ${JSON.stringify(s)}`);
  }
  // The guest's clock starts after QEMU does, so guest time to app start is below host time to it.
  assert.ok(j.guestToAppMs!.min < j.hostToAppMs!.max);
});
