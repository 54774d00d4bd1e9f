// arch=aarch64 end to end: `tailor build arch=aarch64 kernel=stock image=native-example` (Debian's arm64
// kernel from apt, the init and hello.c cross-built static for arm64) then `tailor run` on
// qemu-system-aarch64 -M virt under TCG: the hello line, exit 0. Debian's stock arm64 kernel keeps
// this test to a download and one boot; the custom arm64 kernel is a full cross build (docs/aarch64.md).
// redis on arm64: the redis module's /usr/bin/redis-server comes from Debian's arm64 redis-server and
// redis-tools packages with their dependency closure (apt-get download into Tailor's cache, not
// installed), on the same stock kernel, and answers redis-cli on the host through --forward.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../src/util/paths.ts';
import { hasCommand } from '../../src/util/exec.ts';
import { runNode } from './node-process.ts';
import { freePort, redisCli, run as runInBackground, strayQemu, until } from './net-apps-helpers.ts';

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

test('arch=aarch64 kernel=stock image=native-example builds and boots on qemu-system-aarch64 -M virt: the hello line; size, firecracker --dry-run and bootchart work on it', { timeout: 1_200_000 }, async (t) => {
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
  // The analysis and Firecracker commands on the same arm64 build.
  const size = await run(['size']);
  assert.equal(size.code, 0, size.stderr);
  assert.match(size.stdout, /^on disk: Image [\d.]+ MiB, root fs /m);
  assert.match(size.stdout, /Debian's Image is a boot image without ELF sections/);
  const fc = await run(['run', '-p', 'firecracker', '--dry-run']);
  assert.equal(fc.code, 0, fc.stderr);
  const boot = (JSON.parse(fc.stdout) as { 'boot-source': { kernel_image_path: string; boot_args: string } })['boot-source'];
  assert.match(boot.kernel_image_path, /\/Image$/);
  assert.match(boot.boot_args, /^console=ttyS0 .* -- \/hello$/);
  assert.doesNotMatch(boot.boot_args, /reboot=/);
  const chart = await run(['bootchart', '--timeout', '600']);
  assert.equal(chart.code, 0, chart.stderr);
  assert.match(chart.stdout, /guest time to app start [\d.]+ ms \(app-start marker\)/);
});

test('arch=aarch64 refuses a host (x86-64) program copied into the image, naming it; -p qemu_microvm is refused with the fix', { timeout: 300_000 }, async (t) => {
  if (unavailable) return t.skip(unavailable);
  if (process.arch !== 'x64') return t.skip('the host is not x86-64: its programs are not foreign to an arm64 image');
  // A host program in the module's own folder: its own file, not one a Debian package ships (those come from
  // the arm64 package), so it is taken as it is and refused.
  mkdirSync(join(work, 'modules', 'host-copy'), { recursive: true });
  copyFileSync('/bin/true', join(work, 'modules', 'host-copy', 'true'));
  writeFileSync(join(work, 'modules', 'host-copy', 'module.yaml'), 'run: /usr/bin/true-copy\n');
  writeFileSync(join(work, 'modules', 'host-copy', 'usr.manifest'), '/usr/bin/true-copy: ${MODULE_DIR}/true\n');
  const b = await run(['build', 'arch=aarch64', 'kernel=stock', 'image=host-copy']);
  assert.notEqual(b.code, 0);
  assert.match(b.stderr, /arch=aarch64: the image holds programs for another architecture: \/usr\/bin\/true-copy \(x86-64, from \S+\/modules\/host-copy\/true, module host-copy\)/);
  const m = await run(['run', '-p', 'qemu_microvm', 'native-example']);
  assert.equal(m.code, 2, m.stderr);
  assert.match(m.stderr, /no microvm machine/);
});

test('arch=aarch64 kernel=stock image=redis: arm64 Debian packages in the image; redis-cli PING through --forward answers PONG', { timeout: 1_200_000 }, async (t) => {
  if (unavailable) return t.skip(unavailable);
  if (!(await hasCommand('redis-cli'))) return t.skip('redis-cli is not installed (apt-get install -y redis-tools)');
  if (!(await hasCommand('redis-server'))) return t.skip('redis-server is not installed: the redis module finds its package through it (apt-get install -y redis-server)');
  const b = await run(['build', 'arch=aarch64', 'kernel=stock', 'image=redis', 'name=redis-arm64']);
  assert.equal(b.code, 0, `tailor build failed:\n${b.stderr}`);
  const manifest = readFileSync(join(work, 'build', 'redis-arm64', 'usr.manifest'), 'utf8');
  // The program and its libraries come from the unpacked arm64 packages in Tailor's cache.
  assert.match(manifest, /^\/usr\/bin\/redis-check-rdb: \S+\/packages\/arm64\/[0-9a-f]{16}\/root\/usr\/bin\/redis-check-rdb /m);
  assert.match(manifest, /^\/usr\/bin\/redis-server: ->\/usr\/bin\/redis-check-rdb /m);
  assert.match(manifest, /^\/lib\/ld-linux-aarch64\.so\.1: \S+\/packages\/arm64\//m);
  assert.match(manifest, /^\/usr\/lib\/aarch64-linux-gnu\/libjemalloc\.so\.2: /m);
  assert.doesNotMatch(manifest, /x86_64-linux-gnu/);

  const port = await freePort();
  const vm = runInBackground(work, 'redis-arm64', ['--forward', `${port}:6379`, '--timeout', '900'], t);
  // A stock arm64 boot under TCG on a loaded 2-core host: 12-125 s to the app (docs/aarch64.md).
  const pong = await until(vm, 'PONG from redis-cli', 600_000, async () => (redisCli(port, 'PING') === 'PONG' ? true : undefined));
  t.diagnostic(`PONG on 127.0.0.1:${port} ${pong.ms} ms after tailor run started`);
  assert.equal(redisCli(port, 'SET', 'arch', 'arm64'), 'OK');
  assert.equal(redisCli(port, 'GET', 'arch'), 'arm64');
  assert.match(redisCli(port, 'INFO', 'server') ?? '', /^os:Linux \S+-arm64 aarch64/m);
  // SHUTDOWN ends redis with status 0: the guest powers off and tailor run reports it.
  redisCli(port, 'SHUTDOWN', 'NOSAVE');
  assert.equal(await vm.exited, 0, vm.output().slice(-3000));
  assert.match(vm.output(), /tailor:exit status=0/);
  assert.deepEqual(strayQemu(work), []);
});
