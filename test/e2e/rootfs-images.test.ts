/**
 * EROFS, ext4 and btrfs root images and empty data disks, checked with the
 * file-system tools themselves (fsck.erofs, dump.erofs, e2fsck, debugfs,
 * dumpe2fs, btrfs check/restore): the files are there with their modes and
 * contents, the UUIDs come from the seed, and rebuilding gives the same bytes.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TailorError, UsageError } from '../../src/errors.ts';
import { createEmptyDisk } from '../../src/rootfs/disk.ts';
import { erofsCompressionChoices } from '../../src/rootfs/erofs.ts';
import { writeRootfs } from '../../src/rootfs/index.ts';
import { seededUuid } from '../../src/rootfs/seed.ts';
import { repoRoot } from '../../src/util/paths.ts';
import { assertMatchesFixture, freshDir, isRoot, makeFixture, scratch, type Fixture } from '../unit/rootfs-fixture.ts';

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SEED = 'e2e-config-hash-0123456789abcdef';

let fx: Fixture;
let out: string;
before(async () => {
  fx = await makeFixture();
  out = await scratch('rootfs-images');
});
after(async () => {
  await fx.cleanup();
  await rm(out, { recursive: true, force: true });
});

/**
 * The i_mode of a path's inode, read from the image: dump.erofs gives the
 * inode number (NID); inodes live at meta_blkaddr * 4096 + NID * 32, with
 * i_mode at byte 4 in both the compact and the extended layout.
 */
function erofsInodeMode(imagePath: string, image: Buffer, path: string): number {
  const nid = Number(/NID: (\d+)/.exec(sh('dump.erofs', [`--path=/${path}`, imagePath]))?.[1]);
  assert.ok(Number.isInteger(nid), `dump.erofs finds /${path}`);
  const metaBlkaddr = image.readUInt32LE(1024 + 40);
  return image.readUInt16LE(metaBlkaddr * 4096 + nid * 32 + 4);
}

/**
 * `btrfs inspect-internal dump-super -f` + `dump-tree` text with the fields
 * mkfs.btrfs 6.2 cannot fix masked (the list in src/rootfs/btrfs.ts): the
 * chunk-tree, device and subvolume UUIDs (and the UUID-tree key made of the
 * latter), checksums, the times mkfs takes from the clock (root items, the
 * root-tree directory, the top directory 256), every atime and ctime, and
 * the inode numbers (host st_ino + 256), renumbered in ascending order.
 */
function normalizeBtrfsDump(text: string): string {
  const found = [...text.matchAll(/key \((\d+) INODE_ITEM 0\)/g)].map((m) => Number(m[1])).filter((n) => n > 256);
  const ino = new Map([...new Set(found)].sort((x, y) => x - y).map((n, i) => [String(n), `<ino${i}>`]));
  let objectid = '';
  let type = '';
  return text
    .split('\n')
    .map((line) => {
      const item = /^\titem \d+ key \((\S+) (\S+) /.exec(line);
      if (item) [objectid, type] = [item[1]!, item[2]!];
      else if (/^(leaf|node) \d+ /.test(line)) [objectid, type] = ['', ''];
      let l = line
        .replace(/^(superblock: bytenr=\d+, device=).*/, '$1<path>')
        .replace(/^(csum\s+)0x[0-9a-f]+/, '$1<csum>')
        .replace(/^(chunk uuid |\s+chunk_tree_uuid |\s+dev_uuid |dev_item\.uuid\s+)[0-9a-f-]{36}/, '$1<uuid>')
        .replace(/^(\t\tuuid )[0-9a-f-]{36}/, (m, p: string) => (type === 'DEV_ITEM' || type === 'ROOT_ITEM' ? `${p}<uuid>` : m))
        .replace(/key \(0x[0-9a-f]+ UUID_KEY_SUBVOL 0x[0-9a-f]+\)/, 'key (<uuid> UUID_KEY_SUBVOL <uuid>)');
      const time = /^(\t\t)(atime|ctime|mtime|otime) \d+\.\d+ \(.*\)$/.exec(l);
      const mkfsClock = type === 'ROOT_ITEM' || objectid === 'ROOT_TREE_DIR' || objectid === '256';
      if (time && (time[2] === 'atime' || time[2] === 'ctime' || mkfsClock)) l = `${time[1]}${time[2]} <time>`;
      return l.replace(/\b\d{3,}\b/g, (n) => ino.get(n) ?? n);
    })
    .join('\n');
}

/** No temporary siblings or staging folders may remain beside the outputs. */
async function assertNoLeftovers(): Promise<void> {
  const left = (await readdir(out)).filter((f) => f.startsWith('.'));
  assert.deepEqual(left, [], 'no temporary files or staging folders left');
}

describe('fs=rofs (EROFS)', { skip: has('mkfs.erofs') ? false : 'mkfs.erofs is not installed (apt-get install erofs-utils)' }, () => {
  test('fsck.erofs passes and extracts exactly the tree; UUID from the seed; read-only', async () => {
    const img = join(out, 'root.erofs');
    const r = await writeRootfs(fx.tree, img, { fs: 'rofs', compression: 'auto', seed: SEED });
    assert.equal(r.fs, 'rofs');
    assert.equal(r.readOnly, true);
    assert.equal(r.compression, 'lz4hc');
    assert.equal(r.bytes, (await stat(img)).size);
    const dest = join(out, 'erofs-x');
    sh('fsck.erofs', [`--extract=${dest}`, '--preserve', img]);
    // erofs-utils 1.5 extracts (and prints) only the 0777 bits; the full modes are read from the inodes below.
    await assertMatchesFixture(dest, fx.expected, { ignore: isRoot ? [] : ['dev/console'], mtime: 0, modeMask: 0o777 });
    const image = await readFile(img);
    for (const [p, e] of fx.expected) {
      if (e.mode === undefined) continue;
      assert.equal((erofsInodeMode(img, image, p) & 0o7777).toString(8), e.mode.toString(8), `on-disk mode of /${p}`);
    }
    const superblock = sh('dump.erofs', ['-s', img]);
    assert.match(superblock, new RegExp(`UUID:\\s+${seededUuid(SEED, 'fs')}`, 'i'));
    await assertNoLeftovers();
  });

  test('two builds give the same bytes, for every compression this mkfs.erofs has', async () => {
    const choices = await erofsCompressionChoices();
    assert.ok(choices.includes('none') && choices.includes('lz4') && choices.includes('lz4hc'), `choices: ${choices.join(', ')}`);
    const sizes: Record<string, number> = {};
    for (const c of choices) {
      const a = await writeRootfs(fx.tree, join(out, `a-${c}.erofs`), { fs: 'rofs', compression: c, seed: SEED });
      await pause(1100); // a clock leaking into the image would show
      const b = await writeRootfs({ entries: [...fx.tree.entries].reverse() }, join(out, `b-${c}.erofs`), { fs: 'rofs', compression: c, seed: SEED });
      assert.equal(a.sha256, b.sha256, `fs_compression=${c}: same sha256`);
      sh('fsck.erofs', [join(out, `a-${c}.erofs`)]);
      sizes[c] = a.bytes;
    }
    assert.ok(sizes.lz4hc! < sizes.none!, `lz4hc (${sizes.lz4hc}) is smaller than none (${sizes.none})`);
    const other = await writeRootfs(fx.tree, join(out, 'other-seed.erofs'), { fs: 'rofs', compression: 'lz4hc', seed: `${SEED}x` });
    assert.notEqual(other.sha256, (await writeRootfs(fx.tree, join(out, 'again.erofs'), { fs: 'rofs', compression: 'lz4hc', seed: SEED })).sha256,
      'another seed gives another UUID, hence other bytes');
  });

  test('a compression EROFS cannot use is a usage error listing the ones it can', async () => {
    await assert.rejects(writeRootfs(fx.tree, join(out, 'bad.erofs'), { fs: 'rofs', compression: 'zstd', seed: SEED }), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /fs_compression=zstd .*fs=rofs/);
      assert.match(e.hint ?? '', /use one of: none, lz4, lz4hc/);
      return true;
    });
    await assertNoLeftovers();
  });
});

describe('fs=ext4', { skip: has('mke2fs') ? false : 'mke2fs is not installed (apt-get install e2fsprogs)' }, () => {
  test('e2fsck -fn is clean; debugfs lists and dumps exactly the tree; UUID and hash seed from the seed', async () => {
    const img = join(out, 'root.ext4');
    const r = await writeRootfs(fx.tree, img, { fs: 'ext4', compression: 'none', seed: SEED });
    assert.equal(r.readOnly, false);
    assert.equal(r.sizeMiB, 16, 'a small tree gets the 16 MiB minimum');
    assert.equal(r.bytes, 16 * 1024 * 1024);
    sh('e2fsck', ['-fn', img]);
    const ls = sh('debugfs', ['-R', 'ls -l /usr/bin', img]);
    assert.match(ls, /104755 \(1\)\s+0\s+0\s+4099 .* suid/, 'setuid file owned by root with its size');
    assert.match(sh('debugfs', ['-R', 'stat /dev/console', img]), /Type: character special/);
    const dest = await freshDir(join(out, 'ext4-x'));
    sh('debugfs', ['-R', `rdump / ${dest}`, img]);
    // rdump makes no device nodes and writes lost+found, which mke2fs adds.
    // rdump drops setuid/sticky bits: compare 0777 there and the full modes from debugfs stat.
    await assertMatchesFixture(dest, fx.expected, { ignore: ['lost+found', 'dev/console'], modeMask: 0o777 });
    for (const [p, e] of fx.expected) {
      if (e.mode === undefined) continue;
      const mode = /Mode:\s+(\d+)/.exec(sh('debugfs', ['-R', `stat "/${p}"`, img]))?.[1];
      assert.equal(Number.parseInt(mode!, 8).toString(8), e.mode.toString(8), `on-disk mode of /${p}`);
    }
    const head = sh('dumpe2fs', ['-h', img]);
    assert.match(head, new RegExp(`Filesystem UUID:\\s+${seededUuid(SEED, 'fs')}`));
    assert.match(head, new RegExp(`Directory Hash Seed:\\s+${seededUuid(SEED, 'ext4-hash')}`));
    assert.match(head, /Filesystem features:.*has_journal/);
    assert.match(head, /Reserved block count:\s+0\b/);
    await assertNoLeftovers();
  });

  test('two builds give the same bytes', async () => {
    const a = await writeRootfs(fx.tree, join(out, 'a.ext4'), { fs: 'ext4', compression: 'none', seed: SEED });
    await pause(1100);
    const b = await writeRootfs({ entries: [...fx.tree.entries].reverse() }, join(out, 'b.ext4'), { fs: 'ext4', compression: 'none', seed: SEED });
    assert.equal(a.sha256, b.sha256);
  });

  test('fs_size_mb is honoured; too small for the content is a usage error with the size to use', async () => {
    const r = await writeRootfs(fx.tree, join(out, 'sized.ext4'), { fs: 'ext4', compression: 'none', seed: SEED, sizeMiB: 40 });
    assert.equal(r.bytes, 40 * 1024 * 1024);
    const bigSource = join(out, 'big.src');
    sh('dd', ['if=/dev/urandom', `of=${bigSource}`, 'bs=1M', 'count=12', 'status=none']);
    const tree = { entries: [...fx.tree.entries, { kind: 'file' as const, path: '/big', mode: 0o644, source: bigSource }] };
    await assert.rejects(writeRootfs(tree, join(out, 'small.ext4'), { fs: 'ext4', compression: 'none', seed: SEED, sizeMiB: 8 }), (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.match(e.message, /fs_size_mb=8 is too small/);
      assert.match(e.hint ?? '', /use fs_size_mb=\d+ or more/);
      return true;
    });
    const auto = await writeRootfs(tree, join(out, 'auto.ext4'), { fs: 'ext4', compression: 'none', seed: SEED });
    assert.ok(auto.sizeMiB! >= 16 && auto.sizeMiB! < 40, `automatic size ${auto.sizeMiB} MiB for 12 MiB of content`);
    sh('e2fsck', ['-fn', join(out, 'auto.ext4')]);
    const head = sh('dumpe2fs', ['-h', join(out, 'auto.ext4')]);
    const freeBytes = Number(/^Free blocks:\s+(\d+)/m.exec(head)?.[1]) * 4096;
    assert.ok(freeBytes >= 0.25 * 12 * 1048576, `the automatic size leaves a quarter of the content free (${freeBytes} bytes free)`);
    await rm(bigSource);
    await assertNoLeftovers();
  });

  test('ext4 refuses a compression', async () => {
    await assert.rejects(writeRootfs(fx.tree, join(out, 'c.ext4'), { fs: 'ext4', compression: 'zstd', seed: SEED }), UsageError);
  });
});

describe('fs=btrfs', { skip: has('mkfs.btrfs') ? false : 'mkfs.btrfs is not installed (apt-get install btrfs-progs)' }, () => {
  test('btrfs check passes; btrfs restore gives back the tree; UUID from the seed', async () => {
    const img = join(out, 'root.btrfs');
    const r = await writeRootfs(fx.tree, img, { fs: 'btrfs', compression: 'auto', seed: SEED });
    assert.equal(r.compression, 'zstd', 'auto is zstd, applied as a mount option');
    assert.equal(r.readOnly, false);
    assert.equal(r.bytes, 128 * 1024 * 1024);
    sh('btrfs', ['check', img]);
    assert.match(sh('btrfs', ['inspect-internal', 'dump-super', img]), new RegExp(`fsid\\s+${seededUuid(SEED, 'fs')}`));
    const dest = await freshDir(join(out, 'btrfs-x'));
    sh('btrfs', ['restore', '-S', img, dest]);
    // btrfs restore keeps contents and symlinks (-S) but neither modes nor device nodes.
    await assertMatchesFixture(dest, fx.expected, { ignore: ['dev/console'], modes: false });
    await assertNoLeftovers();
  });

  test('two builds of the same tree differ only in the fields src/rootfs/btrfs.ts names (mkfs.btrfs 6.2 cannot fix them)', async (t) => {
    const a = join(out, 'repro-a.btrfs');
    const b = join(out, 'repro-b.btrfs');
    const ra = await writeRootfs(fx.tree, a, { fs: 'btrfs', compression: 'zstd', seed: SEED });
    await pause(1100); // another second: the times mkfs.btrfs takes from the clock differ too
    const rb = await writeRootfs(fx.tree, b, { fs: 'btrfs', compression: 'zstd', seed: SEED });
    const dump = (img: string) => sh('btrfs', ['inspect-internal', 'dump-super', '-f', img]) + sh('btrfs', ['inspect-internal', 'dump-tree', img]);
    const [da, db] = [dump(a), dump(b)];
    // every tree line the same once the documented fields are masked
    const na = normalizeBtrfsDump(da).split('\n');
    const nb = normalizeBtrfsDump(db).split('\n');
    const firstDiff = na.findIndex((l, i) => l !== nb[i]);
    assert.equal(firstDiff, -1, `undocumented difference at dump line ${firstDiff}:\n  ${na[firstDiff]}\n  ${nb[firstDiff]}`);
    assert.equal(na.length, nb.length);
    // and every differing byte lies in a superblock or a tree block (header fsid at +32): file data is identical
    const image = [await readFile(a), await readFile(b)] as const;
    const nodesize = Number(/^nodesize\s+(\d+)$/m.exec(da)?.[1]);
    const fsid = Buffer.from(seededUuid(SEED, 'fs').replace(/-/g, ''), 'hex');
    const superblocks = [65536, 64 * 1024 * 1024];
    let differing = 0;
    const blocks = new Set<number>();
    for (let off = 0; off < image[0].length; off += nodesize) {
      if (image[0].subarray(off, off + nodesize).equals(image[1].subarray(off, off + nodesize))) continue;
      for (let i = off; i < off + nodesize; i++) if (image[0][i] !== image[1][i]) differing++;
      const inSuper = superblocks.some((s) => off <= s && s < off + nodesize);
      const isTree = image.every((img) => img.subarray(off + 32, off + 48).equals(fsid));
      assert.ok(inSuper || isTree, `bytes differ at ${off}, which is neither a superblock nor a tree block`);
      blocks.add(off);
    }
    t.diagnostic(
      `btrfs reproducibility: ${ra.sha256 === rb.sha256 ? 'same bytes' : `${differing} bytes in ${blocks.size} metadata blocks differ between two builds; the file data and every other tree field are equal`}`,
    );
  });

  test('btrfs compressions and sizes are checked', async () => {
    await assert.rejects(writeRootfs(fx.tree, join(out, 'c.btrfs'), { fs: 'btrfs', compression: 'lz4', seed: SEED }), /fs_compression=lz4/);
    await assert.rejects(writeRootfs(fx.tree, join(out, 's.btrfs'), { fs: 'btrfs', compression: 'zstd', seed: SEED, sizeMiB: 64 }),
      (e: unknown) => e instanceof UsageError && /at least 112 MiB/.test(e.message));
  });
});

describe('fs choices without an image', () => {
  test('fs=zfs exits 2 and points at btrfs and ext4', async () => {
    await assert.rejects(writeRootfs(fx.tree, join(out, 'z.img'), { fs: 'zfs', compression: 'auto', seed: SEED }), (e: unknown) => {
      assert.ok(e instanceof TailorError);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /no ZFS/);
      assert.match(e.hint ?? '', /fs=btrfs .*compression, snapshots, checksums.* fs=ext4/);
      return true;
    });
  });

  test('fs=virtiofs has no image to write and says how to share a folder', async () => {
    await assert.rejects(writeRootfs(fx.tree, join(out, 'v.img'), { fs: 'virtiofs', compression: 'auto', seed: SEED }),
      (e: unknown) => e instanceof UsageError && /host folder/.test(e.message) && /--share/.test(e.hint ?? ''));
  });
});

describe('empty data disks', () => {
  test('ext4: clean, reproducible with a seed, distinct without one', async () => {
    const a = await createEmptyDisk(join(out, 'd1.img'), 'ext4', 32, { seed: 's' });
    const b = await createEmptyDisk(join(out, 'd2.img'), 'ext4', 32, { seed: 's' });
    const c = await createEmptyDisk(join(out, 'd3.img'), 'ext4', 32);
    assert.equal(a.bytes, 32 * 1024 * 1024);
    sh('e2fsck', ['-fn', a.path]);
    assert.equal(sh('sha256sum', [a.path]).split(' ')[0], sh('sha256sum', [b.path]).split(' ')[0]);
    assert.notEqual(sh('sha256sum', [a.path]).split(' ')[0], sh('sha256sum', [c.path]).split(' ')[0]);
  });

  test('btrfs and raw; an existing file is kept unless forced', async () => {
    const d = await createEmptyDisk(join(out, 'b.img'), 'btrfs', 128);
    sh('btrfs', ['check', d.path]);
    const raw = await createEmptyDisk(join(out, 'r.img'), 'raw', 3);
    assert.equal((await stat(raw.path)).size, 3 * 1024 * 1024);
    await assert.rejects(createEmptyDisk(raw.path, 'ext4', 16), (e: unknown) => e instanceof UsageError && /already exists/.test(e.message));
    await createEmptyDisk(raw.path, 'ext4', 16, { force: true });
    sh('e2fsck', ['-fn', raw.path]);
    await assertNoLeftovers();
  });

  test('tailor disk create: exit 0 with a usable disk; exit 2 for a bad size or format', () => {
    const cli = (args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin/tailor.js'), 'disk', 'create', ...args], { encoding: 'utf8' });
    const ok = cli(['--fs', 'ext4', '--size', '24M', join(out, 'cli.img')]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /ext4, 24 MiB/);
    sh('e2fsck', ['-fn', join(out, 'cli.img')]);
    const badSize = cli(['--fs', 'ext4', '--size', '24Q', join(out, 'cli2.img')]);
    assert.equal(badSize.status, 2);
    assert.match(badSize.stderr, /--size "24Q" is not a size/);
    const badFs = cli(['--fs', 'zfs', '--size', '1G', join(out, 'cli3.img')]);
    assert.equal(badFs.status, 2);
    assert.match(badFs.stderr, /use one of: ext4, btrfs, raw/);
  });
});
