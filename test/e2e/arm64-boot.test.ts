// arch=aarch64 end to end: `tailor build arch=aarch64 kernel=stock image=native-example` (Debian's arm64
// kernel from apt, the init and hello.c cross-built static for arm64) then `tailor run` on
// qemu-system-aarch64 -M virt under TCG: the hello line, exit 0. Debian's stock arm64 kernel keeps
// this test to a download and one boot; the custom arm64 kernel is a full cross build (docs/aarch64.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../src/util/paths.ts';
import { hasCommand } from '../../src/util/exec.ts';
import { runNode } from './node-process.ts';

const tailor = join(repoRoot, 'bin', 'tailor.js');
let work = '';
let unavailable: string | undefined;
const run = (args: string[]) => runNode([tailor, ...args], work);

before(async () => {
  for (const tool of ['qemu-system-aarch64', 'aarch64-linux-gnu-gcc', 'apt-get', 'dpkg-deb', 'make']) {
    if (!(await hasCommand(tool))) {
      unavailable = `${tool} is not installed (run: node bin/tailor.js doctor --fix)`;
      process.stderr.write(`arm64-boot: skipped: ${unavailable}\n`);
      return;
    }
  }
  work = mkdtempSync(join(tmpdir(), 'tailor-arm64-'));
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('arch=aarch64 kernel=stock image=native-example builds and boots on qemu-system-aarch64 -M virt: the hello line', { timeout: 1_200_000 }, async (t) => {
  if (unavailable) return t.skip(unavailable);
  const b = await run(['build', 'arch=aarch64', 'kernel=stock', 'image=native-example']);
  assert.equal(b.code, 0, `tailor build failed:\n${b.stderr}`);
  const record = JSON.parse(readFileSync(join(work, 'build', 'native-example', 'build.json'), 'utf8'));
  assert.equal(record.arch, 'aarch64');
  assert.match(record.kernel.release, /-arm64$/);
  assert.equal(record.kernel.bzImage.file, 'Image');
  assert.match(record.kernelCmdline, /^console=ttyAMA0 /);

  const dry = await run(['run', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^qemu-system-aarch64 -M virt -accel tcg -cpu max .*-kernel \S+\/Image -initrd \S+\/initrd\.img .*-append 'console=ttyAMA0 /);

  const r = await run(['run', '--timeout', '600']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Hello from Tailor's native-example/);
  assert.match(r.stderr, /tailor: app started after \d+ ms guest time .*accel=tcg/);
});

test('arch=aarch64 refuses a host (x86-64) program in the image, naming it; -p qemu_microvm is refused with the fix', { timeout: 300_000 }, async (t) => {
  if (unavailable) return t.skip(unavailable);
  if (process.arch !== 'x64') return t.skip('the host is not x86-64: its programs are not foreign to an arm64 image');
  const b = await run(['build', 'arch=aarch64', 'kernel=stock', 'app=/bin/true', 'name=host-prog']);
  assert.notEqual(b.code, 0);
  assert.match(b.stderr, /arch=aarch64: the image holds programs for another architecture: .*\/true \(x86-64/);
  const m = await run(['run', '-p', 'qemu_microvm', 'native-example']);
  assert.equal(m.code, 2, m.stderr);
  assert.match(m.stderr, /no microvm machine/);
});
