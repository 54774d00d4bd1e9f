// Kconfig verification against the real kernel source (src/kernel/custom/configure.ts):
// a symbol whose dependency is off is dropped by Kconfig, and the build stops naming it.
// Runs `make tinyconfig` + `olddefconfig` only (seconds), no compile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TailorError } from '../../src/errors.ts';
import { resolveConfig } from '../../src/config/index.ts';
import { configureKernel } from '../../src/kernel/custom/configure.ts';
import { composeFragment, type Fragment } from '../../src/kernel/custom/fragment.ts';
import { ensureSource, sourceTarball } from '../../src/kernel/custom/source.ts';
import { fragmentSource } from '../../src/kernel/custom/patched-source.ts';
import { parseDotConfig } from '../../src/kernel/custom/kconfig.ts';

const work = mkdtempSync(join(tmpdir(), 'tailor-kverify-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const hasSource = existsSync(sourceTarball);

test('a requested symbol with an unmet dependency fails the configuration, naming it and what it depends on', { timeout: 300_000 }, async (t) => {
  if (!hasSource) return t.skip(`${sourceTarball} not installed (apt-get install linux-source-6.1)`);
  const source = await ensureSource();
  // EROFS_FS is only visible inside `if MISC_FILESYSTEMS` (fs/Kconfig), which we leave off.
  const fragment: Fragment = {
    lines: [
      { symbol: 'BLOCK', value: 'y', reasons: ['test: block layer'] },
      { symbol: 'EROFS_FS', value: 'y', reasons: ['test: erofs without its menu'] },
    ],
    makeVars: {},
    notes: [],
  };
  await assert.rejects(configureKernel(source.dir, join(work, 'dropped'), fragment), (e: unknown) => {
    assert.ok(e instanceof TailorError);
    assert.match(e.message, /CONFIG_EROFS_FS=y was asked for \(test: erofs without its menu\) but the final \.config has # CONFIG_EROFS_FS is not set/);
    assert.match(e.message, /fs\/erofs\/Kconfig:\d+: if MISC_FILESYSTEMS/);
    assert.match(e.message, /MISC_FILESYSTEMS=n/);
    assert.doesNotMatch(e.message, /BLOCK was asked/);
    return true;
  });
});

test('a symbol that does not exist is reported as such', { timeout: 300_000 }, async (t) => {
  if (!hasSource) return t.skip(`${sourceTarball} not installed`);
  const source = await ensureSource();
  const fragment: Fragment = { lines: [{ symbol: 'NO_SUCH_THING', value: 'y', reasons: ['test'] }], makeVars: {}, notes: [] };
  await assert.rejects(configureKernel(source.dir, join(work, 'unknown'), fragment), /no "config NO_SUCH_THING" in the x86 Kconfig files/);
});

test('--profile=minimal survives Kconfig: every requested symbol has its value, PCI off, virtio-mmio on', { timeout: 300_000 }, async (t) => {
  if (!hasSource) return t.skip(`${sourceTarball} not installed`);
  const fragment = composeFragment(resolveConfig(['--profile=minimal', 'kernel=custom'], { cwd: work }), []);
  // minimal names a kernel patch (compact-layout) whose Kconfig symbol only its patched source has
  const source = await fragmentSource(fragment);
  const text = await configureKernel(source.dir, join(work, 'minimal'), fragment);
  assert.equal(parseDotConfig(text).get('X86_COMPACT_KERNEL_LAYOUT'), 'y');
  const final = parseDotConfig(text);
  assert.equal(final.get('VIRTIO_MMIO'), 'y');
  assert.notEqual(final.get('PCI'), 'y');
  assert.notEqual(final.get('KALLSYMS'), 'y');
  assert.equal(text, readFileSync(join(work, 'minimal', '.config'), 'utf8'));
});
