/**
 * Kernel source patches and out-of-tree kernel code, end to end, on one
 * kernel: --profile=minimal with the two example modules, example-driver (a
 * Kbuild folder: the /dev/tailor-example character device) and
 * example-syscall (a patch adding system call 451). The kernel is the
 * minimal kernel plus those layers, an incremental variant of the minimal
 * tree the suite already builds. A real QEMU boot runs both programs; the
 * same build reports its memory by consumer (tailor size --memory). A patch
 * that does not apply to the real source fails naming patch, file and hunk,
 * before any make, with nothing left in the cache.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, cacheDir } from '../../src/util/paths.ts';
import { sourceTarball } from '../../src/kernel/custom/source.ts';
import { hasCommand } from '../../src/util/exec.ts';
import { runNode, type Ran } from './node-process.ts';

const tailor = join(repoRoot, 'bin', 'tailor.js');
const work = mkdtempSync(join(tmpdir(), 'tailor-kpatches-'));
const skip = !existsSync(sourceTarball) ? `${sourceTarball} not installed (apt-get install linux-source-6.1)` : false;
const image = ['--profile=minimal', 'image=example-driver,example-syscall', 'name=kpatches'];
const run = (args: string[]): Promise<Ran> => runNode([tailor, ...args], work);

after(() => rmSync(work, { recursive: true, force: true }));

describe('kernel patches and Kbuild folders from modules', { skip }, () => {
  let built: Ran;
  before(async () => {
    if (!(await hasCommand('qemu-system-x86_64'))) throw new Error('qemu-system-x86_64 is missing (apt-get install qemu-system-x86)');
    built = await run(['build', ...image]);
  }, { timeout: 3_600_000 });

  it('tailor kernel config lists the series with the module that asked for each layer', async () => {
    const r = await run(['kernel', 'config', ...image.slice(0, 2)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# {3}\d+\. Kbuild folder .*example-driver\/kbuild -> tailor\/example-driver\/ \(sha256 [0-9a-f]{12}\) {2}# kernel_sources of module example-driver$/m);
    assert.match(r.stdout, /^# {3}\d+\. patch tailor-example-syscall\.patch \(sha256 [0-9a-f]{12}\) {2}# kernel_patches of module example-syscall$/m);
  });

  it('the image builds, and its kernel is an incremental variant carrying the series', async () => {
    assert.equal(built.code, 0, built.stderr);
    const list = await run(['kernel', 'list', '--json']);
    const kernels = JSON.parse(list.stdout) as { summary: string; buildSeconds: number; base?: { key: string }; series?: { name: string }[] }[];
    const mine = kernels.find((k) => k.series?.some((l) => l.name === 'tailor-example-syscall.patch') && k.series.some((l) => l.name === 'example-driver'));
    assert.ok(mine, `no cached kernel with both layers:\n${list.stdout.slice(0, 2000)}`);
    process.stderr.write(`kernel-patches e2e: the example kernel took ${mine.buildSeconds} s to build${mine.base ? ` (from the tree of ${mine.base.key.slice(0, 12)})` : ' (cold)'}\n`);
  });

  it('boots: the program reads /dev/tailor-example and the other calls the new system call', async () => {
    const r = await run(['run', 'kpatches', '--accel', 'tcg', '--timeout', '180']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /read-example: \/dev\/tailor-example says: hello from the tailor-example driver/);
    assert.match(r.stdout, /call-example: tailor_example\(20\) = 41/);
  });

  it('tailor size --memory splits the guest memory at app start into consumers that add up to -m', async () => {
    const r = await run(['size', '--memory', 'kpatches', '-m', '64', '--accel', 'tcg', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { memoryMiB: number; systemRamKiB: number; consumers: { name: string; kib: number }[] };
    const kib = (prefix: string) => report.consumers.find((c) => c.name.startsWith(prefix))!.kib;
    assert.ok(kib('kernel image') > 500 && kib('kernel image') < 16 * 1024, `kernel image ${kib('kernel image')} KiB`);
    assert.ok(kib('free') > 0 && kib('page cache') > 0);
    assert.equal(Math.round(report.consumers.reduce((n, c) => n + c.kib, 0)), 64 * 1024);
  });

  it('a patch that does not apply names the patch, the file and the hunk, and leaves nothing behind', async () => {
    const broken = join(work, 'broken.patch');
    writeFileSync(broken, '--- a/kernel/fork.c\n+++ b/kernel/fork.c\n@@ -1,3 +1,3 @@\n-this line is not in fork.c\n+nor is this one\n context\n');
    const before = existsSync(cacheDir('src-patched')) ? readdirSync(cacheDir('src-patched')) : [];
    const r = await run(['kernel', 'build', '--profile=minimal', `kernel_patches=${broken}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /kernel patch broken\.patch \(kernel_patches=.*\) does not apply to the kernel source: file kernel\/fork\.c, hunk #1 \(at line 1\)/);
    const left = existsSync(cacheDir('src-patched')) ? readdirSync(cacheDir('src-patched')) : [];
    assert.deepEqual(left.filter((n) => !before.includes(n)), []);
  });
});
