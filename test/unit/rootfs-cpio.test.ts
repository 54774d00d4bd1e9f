/**
 * The cpio newc writer against the system's GNU cpio: what cpio -i extracts
 * is what the tree asked for; every compression decompresses with its
 * system tool to the same archive; two writes give the same bytes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TailorError, UsageError } from '../../src/errors.ts';
import { writeCpio } from '../../src/rootfs/cpio.ts';
import { writeRootfs } from '../../src/rootfs/index.ts';
import type { ContentTree, RamfsCompression } from '../../src/rootfs/types.ts';
import { assertMatchesFixture, freshDir, isRoot, makeFixture, scratch, type Fixture } from './rootfs-fixture.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const run = (cmd: string, args: string[], input?: Buffer) =>
  execFileSync(cmd, args, { input, maxBuffer: 1 << 28, stdio: ['pipe', 'pipe', 'pipe'] });

let fx: Fixture;
let out: string;
before(async () => {
  fx = await makeFixture();
  out = await scratch('rootfs-cpio');
});
after(async () => {
  await fx.cleanup();
  await rm(out, { recursive: true, force: true });
});

describe('cpio newc writer', () => {
  test('cpio -i extracts exactly the tree: paths, modes, contents, symlinks, device', async () => {
    const img = join(out, 'plain.cpio');
    const r = await writeCpio(fx.tree, img, 'none');
    const bytes = await readFile(img);
    assert.equal(r.bytes, bytes.length);
    assert.equal(r.uncompressedBytes, bytes.length);
    assert.equal(r.sha256, sha256(bytes));
    assert.equal(bytes.length % 4, 0, 'the archive ends on a 4-byte boundary');
    const dest = await freshDir(join(out, 'x'));
    // -m keeps mtimes; as root cpio also keeps owners and makes the device node.
    run('cpio', ['-i', '-d', '-m', '--quiet', '--no-absolute-filenames', '-D', dest], bytes);
    await assertMatchesFixture(dest, fx.expected, { ignore: isRoot ? [] : ['dev/console'], mtime: 0 });
  });

  test('cpio -tv: sorted, parents first, owner root, mtime 1970, link counts of directories', async () => {
    const bytes = await readFile(join(out, 'plain.cpio'));
    const names = run('cpio', ['-t', '--quiet'], bytes).toString().trim().split('\n');
    assert.deepEqual(names, [
      'a-b', 'a-b/three', 'dev', 'dev/console', 'empty', 'etc', 'etc/secret', 'etc/tailor', 'etc/tailor/cmdline',
      'lib', 'proc', 'tmp', 'usr', 'usr/bin', 'usr/bin/app', 'usr/bin/sh', 'usr/bin/suid', 'usr/lib', 'usr/lib/big.bin',
    ]);
    const long = run('cpio', ['-tv', '--quiet'], bytes).toString().trim().split('\n');
    for (const line of long) {
      const cols = line.split(/\s+/);
      assert.equal(cols[2], 'root', `owner of ${line}`);
      assert.equal(cols[3], 'root', `group of ${line}`);
      assert.match(line, /\b1970\b/, `mtime of ${line}`);
    }
    const linkCount = (name: string) => long.find((l) => l.endsWith(` ${name}`))!.split(/\s+/)[1];
    assert.equal(linkCount('usr'), '4', 'usr has two subdirectories: 2 + 2 links');
    assert.equal(linkCount('etc'), '3');
    assert.equal(linkCount('usr/bin/app'), '1');
    assert.match(long.find((l) => l.endsWith(' dev/console'))!, /^crw------- .* 5, +1 /);
  });

  test('same tree, same bytes: written twice and with the entries in another order', async () => {
    const a = await writeCpio(fx.tree, join(out, 'a.cpio'), 'none');
    await new Promise((r) => setTimeout(r, 1100)); // a clock leaking into the archive would show
    const shuffled: ContentTree = { entries: [...fx.tree.entries].reverse() };
    const b = await writeCpio(shuffled, join(out, 'b.cpio'), 'none');
    assert.equal(a.sha256, b.sha256);
    assert.deepEqual(await readFile(join(out, 'a.cpio')), await readFile(join(out, 'b.cpio')));
  });

  test('a given mtime is stamped on every entry', async () => {
    await writeCpio(fx.tree, join(out, 'm.cpio'), 'none', { mtime: 1_700_000_000 });
    const dest = await freshDir(join(out, 'm'));
    run('cpio', ['-i', '-d', '-m', '--quiet', '-D', dest], await readFile(join(out, 'm.cpio')));
    await assertMatchesFixture(dest, fx.expected, { ignore: isRoot ? [] : ['dev/console'], mtime: 1_700_000_000 });
  });

  const tools: Record<Exclude<RamfsCompression, 'none'>, string[]> = {
    gzip: ['gzip', '-dc'],
    lz4: ['lz4', '-dc'],
    zstd: ['zstd', '-dcq'],
    xz: ['xz', '-dc'],
  };
  for (const [c, [cmd, ...args]] of Object.entries(tools)) {
    test(`${c}: the system ${cmd} decompresses it to the same archive, reproducibly`, async () => {
      const plain = await readFile(join(out, 'plain.cpio'));
      const img = join(out, `i.${c}`);
      const r1 = await writeCpio(fx.tree, img, c as RamfsCompression);
      const packed = await readFile(img);
      assert.equal(r1.bytes, packed.length);
      assert.equal(r1.sha256, sha256(packed));
      assert.equal(r1.uncompressedBytes, plain.length);
      assert.ok(packed.length < plain.length, `${c} output is smaller (${packed.length} < ${plain.length})`);
      assert.equal(sha256(run(cmd!, args, packed)), sha256(plain));
      const r2 = await writeCpio(fx.tree, img, c as RamfsCompression);
      assert.equal(r2.sha256, r1.sha256, 'second write, same bytes');
    });
  }

  test('compression formats are the ones the kernel reads', async () => {
    const gz = await readFile(join(out, 'i.gzip'));
    assert.deepEqual([...gz.subarray(0, 3)], [0x1f, 0x8b, 8]);
    assert.equal(gz[3]! & 0x08, 0, 'gzip header: no file name');
    assert.equal(gz.readUInt32LE(4), 0, 'gzip header: mtime 0');
    const lz = await readFile(join(out, 'i.lz4'));
    assert.equal(lz.readUInt32LE(0), 0x184c2102, 'lz4 legacy frame magic (lz4 -l)');
    const info = run('xz', ['--robot', '--list', join(out, 'i.xz')]).toString();
    assert.match(info, /\bCRC32\b/, 'xz integrity check is CRC32');
    const zs = await readFile(join(out, 'i.zstd'));
    assert.equal(zs.readUInt32LE(0), 0xfd2fb528, 'zstd frame magic');
  });

  test('writeRootfs fs=ramfs: auto means gzip; readOnly false', async () => {
    const r = await writeRootfs(fx.tree, join(out, 'initrd.img'), { fs: 'ramfs', compression: 'auto', seed: 'x' });
    assert.equal(r.compression, 'gzip');
    assert.equal(r.readOnly, false);
    assert.equal(r.sha256, sha256(await readFile(join(out, 'i.gzip'))));
  });
});

describe('cpio writer: bad input', () => {
  const expectError = async (tree: ContentTree, kind: abstract new (...args: never[]) => TailorError, pattern: RegExp) => {
    const dest = join(out, 'bad.cpio');
    await rm(dest, { force: true });
    await assert.rejects(writeCpio(tree, dest, 'gzip'), (err: unknown) => {
      assert.ok(err instanceof kind, `a ${kind.name}, got ${String(err)}`);
      assert.match((err as Error).message, pattern);
      return true;
    });
    const left = (await readdir(out)).filter((f) => f.startsWith('.bad.cpio') || f === 'bad.cpio');
    assert.deepEqual(left, [], 'nothing is left on disk');
  };

  test('two different files at one path: an error naming both sources', async () => {
    await expectError(
      { entries: [
        { kind: 'file', path: '/x', mode: 0o644, source: join(fx.dir, 'app') },
        { kind: 'file', path: '/x', mode: 0o644, source: join(fx.dir, 'three') },
      ] },
      UsageError,
      new RegExp(`/x: file from ${join(fx.dir, 'app')}.* and file from ${join(fx.dir, 'three')}`),
    );
  });

  test('a file and a symlink at one path, and a file where a directory is needed', async () => {
    await expectError(
      { entries: [{ kind: 'data', path: '/x', mode: 0o644, data: new Uint8Array(1) }, { kind: 'symlink', path: '/x', target: 'y' }] },
      UsageError,
      /two different entries for \/x: generated file of 1 bytes .* and symlink to y/,
    );
    await expectError(
      { entries: [{ kind: 'data', path: '/x', mode: 0o644, data: new Uint8Array(1) }, { kind: 'dir', path: '/x/y', mode: 0o755 }] },
      UsageError,
      /\/x is a generated file .* \/x\/y needs it to be a directory/,
    );
  });

  test('the same content from two different source files is accepted', async () => {
    await writeFile(join(fx.dir, 'app-copy'), await readFile(join(fx.dir, 'app')));
    const r = await writeCpio(
      { entries: [
        { kind: 'file', path: '/x', mode: 0o644, source: join(fx.dir, 'app') },
        { kind: 'file', path: '/x', mode: 0o644, source: join(fx.dir, 'app-copy') },
      ] },
      join(out, 'dup.cpio'),
      'none',
    );
    assert.deepEqual(run('cpio', ['-t', '--quiet'], await readFile(join(out, 'dup.cpio'))).toString(), 'x\n');
    assert.ok(r.bytes > 0);
  });

  test('relative paths and ".." components are refused', async () => {
    await expectError({ entries: [{ kind: 'dir', path: 'etc', mode: 0o755 }] }, UsageError, /"etc" is not absolute/);
    await expectError({ entries: [{ kind: 'dir', path: '/etc/../x', mode: 0o755 }] }, UsageError, /"\/etc\/..\/x" has a "\.\." component/);
    await expectError({ entries: [{ kind: 'dir', path: '/etc//x', mode: 0o755 }] }, UsageError, /doubled|"\/\/"/);
  });

  test('a missing source file: an error naming the guest path and the source', async () => {
    const missing = join(fx.dir, 'no-such-file');
    await expectError(
      { entries: [{ kind: 'file', path: '/bin/app', mode: 0o755, source: missing }] },
      TailorError,
      new RegExp(`/bin/app: cannot read its source ${missing} \\(ENOENT\\)`),
    );
  });

  test('a source that changes size while being written: an error, and no partial image (zstd, a host tool)', async () => {
    // /proc files stat as 0 bytes but read as more: exactly what a file growing mid-write looks like.
    const dest = join(out, 'bad.cpio');
    await assert.rejects(
      writeCpio({ entries: [{ kind: 'file', path: '/version', mode: 0o644, source: '/proc/version' }] }, dest, 'zstd'),
      (err: unknown) => err instanceof TailorError && /\/version: its source \/proc\/version changed size/.test(err.message),
    );
    const left = (await readdir(out)).filter((f) => f.startsWith('.bad.cpio') || f === 'bad.cpio');
    assert.deepEqual(left, [], 'nothing is left on disk');
  });

  test('a missing compressor tool: the apt command to install it, and no partial image', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(out, 'no-tools-here');
    try {
      await assert.rejects(writeCpio(fx.tree, join(out, 'bad.cpio'), 'lz4'), (err: unknown) => {
        assert.ok(err instanceof TailorError, String(err));
        assert.match(err.message, /lz4 is not installed \(needed for fs_compression=lz4\)/);
        assert.equal(err.hint, 'install it with: apt-get install -y lz4');
        return true;
      });
    } finally {
      process.env.PATH = path;
    }
    assert.deepEqual((await readdir(out)).filter((f) => f.includes('bad.cpio')), []);
  });

  test('an unknown compression is a usage error listing the choices', async () => {
    await assert.rejects(writeCpio(fx.tree, join(out, 'c.cpio'), 'brotli' as RamfsCompression), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /fs_compression=brotli/);
      assert.equal(err.hint, 'use one of: none, gzip, lz4, zstd, xz');
      return true;
    });
  });
});

describe('cpio writer: streaming', () => {
  test('a 160 MiB file goes through without being held in memory', async () => {
    const bigSource = join(out, 'huge.src');
    execFileSync('truncate', ['-s', '160M', bigSource]);
    const start = process.memoryUsage().rss;
    let peak = start;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      const r = await writeCpio({ entries: [{ kind: 'file', path: '/huge', mode: 0o644, source: bigSource }] }, join(out, 'huge.cpio'), 'none');
      assert.ok(r.bytes > 160 * 1024 * 1024);
    } finally {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      await rm(bigSource, { force: true });
      await rm(join(out, 'huge.cpio'), { force: true });
    }
    const grewMiB = (peak - start) / 1048576;
    assert.ok(grewMiB < 64, `resident memory grew by ${grewMiB.toFixed(1)} MiB while writing 160 MiB`);
  });
});
