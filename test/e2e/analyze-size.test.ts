/**
 * tailor size on real builds: the minimal custom kernel (sections, >= 10
 * subsystems adding up to the vmlinux section totals within 1%), and
 * --diff against the cloud-init variant (one kernel feature, fw-cfg) naming
 * the fw_cfg driver as new kernel code.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fixtureUnavailable } from './run-fixture.ts';
import { build, minimalArgs, runTailor } from './analyze-helpers.ts';
import type { SizeReport, SizeDiff } from '../../src/analyze/size-report.ts';
import { repoRoot } from '../../src/util/paths.ts';

let unavailable: string | undefined;
before(async () => {
  unavailable = await fixtureUnavailable();
  if (unavailable) return;
  await build('analyze-e2e-min', minimalArgs);
}, { timeout: 40 * 60_000 });

test('tailor size: sections, >= 10 subsystems that add up to the section totals, root fs by module', { timeout: 5 * 60_000 }, async (t) => {
  if (unavailable) return t.skip(unavailable);
  const r = await runTailor(['size', 'analyze-e2e-min', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as SizeReport;
  const k = rep.kernel;
  for (const g of ['text', 'rodata', 'data', 'bss', 'init'] as const) assert.ok(k.groupTotals[g] > 0, `section group ${g}`);
  const real = k.subsystems.filter((s) => !s.subsystem.startsWith('('));
  assert.ok(real.length >= 10, `only ${real.length} subsystems`);
  const sum = k.subsystems.reduce((n, s) => n + s.total, 0);
  const sections = k.sections.reduce((n, s) => n + s.bytes, 0);
  assert.ok(Math.abs(sum - sections) <= sections * 0.01, `subsystems ${sum} vs sections ${sections}`);
  // Attribution really reaches objects: (linker)+(padding) is not most of the non-padding bytes.
  const linker = k.subsystems.find((s) => s.subsystem === '(linker)')?.total ?? 0;
  const padding = k.subsystems.find((s) => s.subsystem === '(padding)')?.total ?? 0;
  assert.ok(linker < 0.1 * (sections - padding), `unattributed ${linker} of ${sections - padding}`);
  assert.ok(rep.rootfs.files.some((f) => f.path === '/hello' && f.module === 'native-example'), 'the app file and its module');
  assert.ok((rep.rootfs.compressionRatio ?? 0) > 1, 'a gzip initramfs is smaller than its files');
  // The terminal form lists the sections and the subsystems with who asked for them.
  const text = await runTailor(['size', 'analyze-e2e-min']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /kernel by subsystem \(\d+; top/);
  assert.match(text.stdout, /CONFIG_[A-Z0-9_]+: /);
  const html = join(repoRoot, 'build', 'analyze-e2e-min', 'size.html');
  const h = await runTailor(['size', 'analyze-e2e-min', '--html', html]);
  assert.equal(h.code, 0, h.stderr);
  assert.ok(existsSync(html));
  assert.doesNotMatch(readFileSync(html, 'utf8'), /https?:\/\/(?!www\.w3\.org)/, 'the page needs no network');
});

test('tailor size --diff: adding the cloud-init module names the fw_cfg driver as new kernel code and its files as root fs growth', { timeout: 40 * 60_000 }, async (t) => {
  if (unavailable) return t.skip(unavailable);
  // the one-feature variant kernel-custom-build.test.ts builds too (fw-cfg): an incremental build, shared
  await build('analyze-e2e-fwcfg', ['--profile=minimal', 'image=cloud-init,native-example']);
  const r = await runTailor(['size', 'analyze-e2e-fwcfg', '--diff', 'analyze-e2e-min', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const d = JSON.parse(r.stdout) as SizeDiff;
  const firmware = d.subsystems.find((s) => s.name === 'drivers/firmware');
  assert.ok(firmware && firmware.old === 0 && firmware.delta > 1000, `drivers/firmware: ${JSON.stringify(firmware)}`);
  assert.ok(d.objects.some((o) => o.name === 'drivers/firmware/qemu_fw_cfg.o' && o.old === 0 && o.delta > 0), 'qemu_fw_cfg.o is new');
  const text = await runTailor(['size', 'analyze-e2e-fwcfg', '--diff', 'analyze-e2e-min']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /kernel subsystems: grow \+\d+/);
  assert.match(text.stdout, /drivers\/firmware\s+0\s+\d+\s+\+\d+/);
  assert.match(text.stdout, /root fs files: grow \+\d+/);
});
