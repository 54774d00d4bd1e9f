/** Staging a tree into a real folder (for mkfs tools), and the size parser of `tailor disk create`. */
import assert from 'node:assert/strict';
import { lstat, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TailorError, UsageError } from '../../src/errors.ts';
import { parseSizeMiB } from '../../src/rootfs/disk.ts';
import { seededUuid } from '../../src/rootfs/seed.ts';
import { stageTree } from '../../src/rootfs/staging.ts';
import { comparePaths, splitGuestPath } from '../../src/rootfs/tree.ts';
import { assertMatchesFixture, isRoot, makeFixture, scratch, type Fixture } from './rootfs-fixture.ts';

let fx: Fixture;
let out: string;
before(async () => {
  fx = await makeFixture();
  out = await scratch('rootfs-stage');
});
after(async () => {
  await fx.cleanup();
  await rm(out, { recursive: true, force: true });
});

describe('stageTree', () => {
  test('the folder holds the tree with modes, symlinks, the device node (as root) and every mtime fixed', async () => {
    const dir = join(out, 'stage');
    const r = await stageTree(fx.tree, dir, { mtime: 86400 });
    assert.equal(r.entries, fx.expected.size + 1, 'every entry plus the root');
    assert.deepEqual(r.skippedDevices, isRoot ? [] : ['/dev/console']);
    await assertMatchesFixture(dir, fx.expected, { ignore: isRoot ? [] : ['dev/console'], mtime: 86400 });
    for (const p of ['', 'usr', 'usr/bin', 'tmp', 'proc', 'usr/bin/sh']) {
      const st = await lstat(join(dir, p));
      assert.equal(Math.floor(st.mtimeMs / 1000), 86400, `mtime of /${p} (directories and symlinks too)`);
    }
    assert.equal((await lstat(dir)).mode & 0o7777, 0o755, 'the root gets the implied mode 755');
  });

  test('a folder that is not empty is refused', async () => {
    const dir = join(out, 'busy');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'x'), 'x');
    await assert.rejects(stageTree(fx.tree, dir), (e: unknown) => e instanceof TailorError && /not empty/.test(e.message));
  });
});

describe('paths and seeds', () => {
  test('splitGuestPath accepts absolute paths and refuses the rest', () => {
    assert.deepEqual(splitGuestPath('/'), []);
    assert.deepEqual(splitGuestPath('/usr/bin/'), ['usr', 'bin']);
    for (const bad of ['usr', '', './x', '/a/./b', '/a/../b', '//a', '/a//b', '/a\0b']) {
      assert.throws(() => splitGuestPath(bad), UsageError, JSON.stringify(bad));
    }
  });

  test('a directory sorts right before its contents', () => {
    const paths = ['/a-b', '/a/z', '/a', '/a.c', '/b', '/a/b/c'].map(splitGuestPath).sort(comparePaths).map((p) => `/${p.join('/')}`);
    assert.deepEqual(paths, ['/a', '/a/b/c', '/a/z', '/a-b', '/a.c', '/b']);
  });

  test('seeded UUIDs: stable, distinct per purpose and per seed, RFC 4122 shaped', () => {
    const a = seededUuid('abc', 'fs');
    assert.equal(a, seededUuid('abc', 'fs'));
    assert.notEqual(a, seededUuid('abc', 'ext4-hash'));
    assert.notEqual(a, seededUuid('abd', 'fs'));
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.throws(() => seededUuid('', 'fs'), UsageError);
  });
});

describe('parseSizeMiB (tailor disk create --size)', () => {
  test('units K, M, G, T in powers of 1024; plain numbers are MiB', () => {
    assert.equal(parseSizeMiB('64M'), 64);
    assert.equal(parseSizeMiB('64m'), 64);
    assert.equal(parseSizeMiB('64MiB'), 64);
    assert.equal(parseSizeMiB('1G'), 1024);
    assert.equal(parseSizeMiB('1.5G'), 1536);
    assert.equal(parseSizeMiB('2048K'), 2);
    assert.equal(parseSizeMiB('1T'), 1048576);
    assert.equal(parseSizeMiB('100'), 100);
  });

  test('bad sizes are usage errors that say how to write one', () => {
    for (const bad of ['', 'M', '12X', '-5M', '0', '0M', '1000K', '1.3M', 'lots']) {
      assert.throws(() => parseSizeMiB(bad), (e: unknown) => e instanceof UsageError && /--size/.test(e.message), bad);
    }
  });
});
