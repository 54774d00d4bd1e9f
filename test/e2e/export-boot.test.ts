// The exported raw and qcow2 disks of native-example on the default custom kernel (with the efi module's
// EFI stub) boot on QEMU q35 with UEFI firmware (Debian's OVMF) and no -kernel: firmware finds the ESP,
// starts the UKI, the kernel runs the init and the app, and the exit status comes back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTailor } from './analyze-helpers.ts';
import { hasCommand } from '../../src/util/exec.ts';
import { bootQemu } from '../../src/run/runner.ts';
import { firmwareBootCommand, ovmfImage } from '../../src/export/firmware-boot.ts';
import type { BuildRecord } from '../../src/image/types.ts';

let work = '';
let unavailable: string | undefined;

const run = (args: string[]) => runTailor(args, work);

before(async () => {
  for (const tool of ['qemu-system-x86_64', 'qemu-img', 'musl-gcc', 'objcopy', 'mkfs.vfat', 'mcopy', 'make', 'gcc']) {
    if (!unavailable && !(await hasCommand(tool))) unavailable = `${tool} is not installed (run: node bin/tailor.js doctor --fix)`;
  }
  if (!unavailable && !existsSync(ovmfImage)) unavailable = `${ovmfImage} is missing (apt-get install -y ovmf)`;
  if (unavailable) return;
  work = mkdtempSync(join(tmpdir(), 'tailor-export-boot-'));
  // the default kernel=custom, built through the normal path (cached by its fragment)
  const b = await run(['build', 'image=native-example', 'modules=efi', 'name=hello-efi']);
  assert.equal(b.code, 0, `tailor build failed:\n${b.stderr}`);
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

for (const format of ['raw', 'qcow2'] as const) {
  test(`the exported ${format} disk boots on q35 + OVMF with no -kernel and the app runs`, async (t) => {
    if (unavailable) return t.skip(unavailable);
    const record = JSON.parse(readFileSync(join(work, 'build', 'hello-efi', 'build.json'), 'utf8')) as BuildRecord;
    assert.equal(record.kernel.flavour, 'custom');
    const e = await run(['export', format, 'hello-efi', '-e', '/hello one two']);
    assert.equal(e.code, 0, e.stderr);
    const disk = join(work, 'build', 'hello-efi', `hello-efi.${format}`);
    const cmd = firmwareBootCommand(disk, format, { accel: 'tcg' });
    assert.equal(cmd.args.includes('-kernel'), false);
    const o = await bootQemu(cmd, { console: null, timeoutMs: 600_000 });
    assert.equal(o.timedOut, false, `no exit within 600 s; console:\n${o.lastLines.join('\n')}`);
    assert.ok(o.appStart, `no app-start marker; console:\n${o.lastLines.join('\n')}\n${o.qemuStderr}`);
    assert.match(o.console, /Hello from Tailor's native-example \(\/hello, 2 arguments\)/);
    assert.equal(o.exitStatus, 0);
  });
}
