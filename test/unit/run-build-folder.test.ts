// A build folder is used only when the files a boot reads are the ones build.json lists (size and sha256).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TailorError } from '../../src/errors.ts';
import type { BuildRecord } from '../../src/image/types.ts';
import { fileProblems, listedFiles, loadBuildFolder } from '../../src/run/build-folder.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function folder(extra: Partial<BuildRecord> = {}): { dir: string; record: BuildRecord } {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-folder-'));
  const files: Record<string, string> = { bzImage: 'kernel', 'initrd.img': 'initrd', 'root.ext4': 'disk', cmdline: 'console=ttyS0 -- /hello\n' };
  for (const [f, c] of Object.entries(files)) writeFileSync(join(dir, f), c);
  const art = (file: string) => ({ file, bytes: files[file]!.length, sha256: sha(files[file]!) });
  const record = {
    formatVersion: 1, name: 't', configHash: 'h', options: {}, modules: [],
    kernel: { flavour: 'custom', release: 'r', packageVersion: 'p', bzImage: art('bzImage'), hasVirtioMmio: true, hasPci: false, hasAcpi: false },
    initrd: { ...art('initrd.img'), compression: 'gzip' },
    kernelCmdline: 'console=ttyS0', appCmdline: '/hello', builtAt: '1970-01-01T00:00:00Z',
    extraFiles: [art('cmdline')],
    ...extra,
  } as BuildRecord;
  writeFileSync(join(dir, 'build.json'), JSON.stringify(record));
  return { dir, record };
}

const refused = (dir: string, what: RegExp) =>
  assert.throws(() => loadBuildFolder(dir), (e: unknown) => e instanceof TailorError && what.test(e.message) && /tailor build/.test(e.hint ?? ''));

test('an intact folder loads, and every listed file matches', () => {
  const { dir, record } = folder();
  try {
    assert.equal(loadBuildFolder(dir).record.name, 't');
    assert.deepEqual(fileProblems(dir, listedFiles(record)), []);
    assert.deepEqual(listedFiles(record).map((f) => f.file), ['bzImage', 'initrd.img', 'cmdline']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a changed byte, a short file or a missing file is refused, naming the file and tailor build', () => {
  const { dir } = folder();
  try {
    writeFileSync(join(dir, 'initrd.img'), 'initrD');
    refused(dir, /initrd\.img does not have the sha256 build\.json lists/);
    truncateSync(join(dir, 'initrd.img'), 3);
    refused(dir, /initrd\.img has 3 bytes, not the 6 build\.json lists/);
    rmSync(join(dir, 'initrd.img'));
    refused(dir, /initrd\.img is missing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the other files are checked by listedFiles, not by a boot; a writable root disk only by size', () => {
  const disk = { file: 'root.ext4', bytes: 4, sha256: sha('disk') };
  const { dir, record } = folder({ rootDisk: { ...disk, fs: 'ext4', readOnly: false } });
  try {
    writeFileSync(join(dir, 'cmdline'), 'changed\n');
    writeFileSync(join(dir, 'root.ext4'), 'DISK'); // the guest wrote to its root
    assert.equal(loadBuildFolder(dir).record.name, 't');
    assert.deepEqual(fileProblems(dir, listedFiles(record)).map((p) => p.what), ['has 8 bytes, not the 24 build.json lists']);
    writeFileSync(join(dir, 'root.ext4'), 'DISK!');
    refused(dir, /root\.ext4 has 5 bytes, not the 4/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ro = folder({ rootDisk: { ...disk, fs: 'erofs', readOnly: true } });
  try {
    writeFileSync(join(ro.dir, 'root.ext4'), 'DISK');
    refused(ro.dir, /root\.ext4 does not have the sha256/);
  } finally {
    rmSync(ro.dir, { recursive: true, force: true });
  }
});
