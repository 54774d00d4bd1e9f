// Seeded fuzz of build.json as `tailor run` reads it (src/run/build-folder.ts):
// a valid record with fields deleted, retyped or replaced, plus byte
// mutations of its JSON text. A record the loader accepts must then plan a
// QEMU command without a TypeError; a refusal is a TailorError naming build.json
// (or the missing file it names).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadBuildFolder } from '../../src/run/build-folder.ts';
import { buildQemuCommand } from '../../src/run/qemu.ts';
import { defaultHypervisor } from '../../src/run/runner.ts';
import { awkward, describe, expectNames, fuzz, mutatedSample } from './fuzz-support.ts';

// every listed file holds "data": its real size and sha256, as tailor run checks them
const artifact = (file: string) => ({ file, bytes: 4, sha256: createHash('sha256').update('data').digest('hex') });
const valid = {
  formatVersion: 1,
  name: 'fz',
  configHash: 'ab'.repeat(32),
  options: { fs: { value: 'ramfs', source: 'default' } },
  profile: 'minimal',
  modules: ['native-example'],
  kernel: {
    flavour: 'custom',
    release: '6.1.0-tailor',
    packageVersion: '6.1.1',
    bzImage: artifact('bzImage'),
    vmlinux: artifact('vmlinux'),
    hasVirtioMmio: true,
    hasPci: false,
    hasAcpi: false,
    virtioMmioCmdline: true,
  },
  initrd: { ...artifact('initrd.img'), compression: 'gzip' },
  rootDisk: { ...artifact('root.img'), fs: 'ext4', readOnly: false },
  extraFiles: [artifact('cmdline'), artifact('export/usr.manifest')],
  kernelNeeds: ['net'],
  hostShares: ['9p'],
  kernelCmdline: 'console=ttyS0 quiet',
  appCmdline: '/hello',
  builtAt: '2026-12-01T00:00:00Z',
};

/** Every path into the valid record, e.g. ['kernel', 'bzImage', 'file']. */
function paths(o: unknown, prefix: string[] = []): string[][] {
  if (typeof o !== 'object' || o === null) return [prefix];
  return [prefix, ...Object.entries(o).flatMap(([k, v]) => paths(v, [...prefix, k]))];
}
const allPaths = paths(valid).filter((p) => p.length > 0);
const replacement = fc.oneof(
  fc.constantFrom(undefined, null, 0, -1, 1.5, NaN, true, '', '..', '/etc/passwd', 'missing.img', 'a/b', [], {}, ['x', 1], { file: 'bzImage' }),
  awkward,
  fc.integer(),
);
/** Up to 4 fields deleted or replaced by a value of another type. */
const damaged = fc.array(fc.tuple(fc.constantFrom(...allPaths), replacement), { maxLength: 4 }).map((edits) => {
  const r = structuredClone(valid) as Record<string, unknown>;
  for (const [path, v] of edits) {
    let o: unknown = r;
    for (const k of path.slice(0, -1)) o = typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined;
    if (typeof o !== 'object' || o === null) continue;
    if (v === undefined) delete (o as Record<string, unknown>)[path.at(-1)!];
    else (o as Record<string, unknown>)[path.at(-1)!] = v;
  }
  return JSON.stringify(r);
});
const buildJson = fc.oneof(
  { arbitrary: damaged, weight: 3 },
  { arbitrary: mutatedSample([Buffer.from(JSON.stringify(valid, null, 2))]).map((b) => b.toString('latin1')), weight: 2 },
  { arbitrary: fc.constantFrom('', 'null', '[]', '1', '"x"', '{}', '{"formatVersion":1}', '{"formatVersion":"1"}'), weight: 1 },
);

test('build.json: damaged records are refused with a TailorError naming the file; accepted ones plan a QEMU command', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-fuzz-build-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'export'));
  for (const f of ['bzImage', 'vmlinux', 'initrd.img', 'root.img', 'cmdline', 'export/usr.manifest']) writeFileSync(join(dir, f), 'data');
  const jsonPath = join(dir, 'build.json');
  const o = fuzz({
    seed: 0x6a736f,
    numRuns: 4000,
    budgetMs: 15_000,
    input: buildJson,
    parse: (text) => {
      writeFileSync(jsonPath, text, 'latin1');
      const build = loadBuildFolder(dir);
      const hypervisor = defaultHypervisor(build);
      buildQemuCommand(build.dir, build.record, { hypervisor, accel: 'tcg', memoryMiB: 128, cpus: 1 });
    },
    rejection: (err) => expectNames(err, err.message.includes(jsonPath) ? jsonPath : dir),
  });
  t.diagnostic(describe('build.json', o));
  assert.ok(o.inputs >= 300, `only ${o.inputs} inputs inside the time budget`);
  assert.ok(o.accepted > 0 && o.rejected > 0);
});
