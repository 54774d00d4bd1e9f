// The vmlinux inside a bzImage: payload located through the boot header, decompressed by the host tool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TailorError } from '../../src/errors.ts';
import { exec, hasCommand } from '../../src/util/exec.ts';
import { hasPvhNote } from '../../src/elf/index.ts';
import { bzImagePayload, extractVmlinux } from '../../src/kernel/bzimage.ts';
import { cachedStockKernels } from '../../src/kernel/stock.ts';

const fakeElf = Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), Buffer.alloc(200, 7)]);

/** A minimal bzImage: boot sector + setup with the HdrS header, then the protected-mode part holding `payload`. */
function bzImage(payload: Buffer, appendSize: boolean, setupSects = 3): Buffer {
  const pmStart = (setupSects + 1) * 512;
  const prefix = Buffer.alloc(64, 0xee); // the decompressor stub before the payload
  const body = appendSize ? Buffer.concat([payload, Buffer.from([fakeElf.length & 0xff, fakeElf.length >> 8, 0, 0])]) : payload;
  const img = Buffer.alloc(pmStart + prefix.length + body.length + 32);
  img[0x1f1] = setupSects;
  img.write('HdrS', 0x202, 'latin1');
  img.writeUInt16LE(0x20f, 0x206);
  img.writeUInt32LE(prefix.length, 0x248);
  img.writeUInt32LE(body.length, 0x24c);
  prefix.copy(img, pmStart);
  body.copy(img, pmStart + prefix.length);
  return img;
}

test('bzImagePayload finds the payload from the boot header and names its compression', () => {
  const gz = gzipSync(fakeElf);
  const p = bzImagePayload(bzImage(gz, false), 'x');
  assert.equal(p.compression, 'gzip');
  assert.deepEqual(p.data, gz);
  assert.throws(() => bzImagePayload(Buffer.alloc(4096), 'plain.bin'), (e: Error) => e instanceof TailorError && /plain\.bin is not an x86 bzImage/.test(e.message));
  assert.throws(() => bzImagePayload(bzImage(Buffer.from('nonsense-payload'), false), 'odd'), (e: Error) => e instanceof TailorError && /unknown payload compression/.test(e.message));
});

test('extractVmlinux unpacks gzip and xz payloads (size trailer included) into an ELF, atomically', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-bz-'));
  try {
    writeFileSync(join(dir, 'gz.bzImage'), bzImage(gzipSync(fakeElf), false));
    assert.equal(await extractVmlinux(join(dir, 'gz.bzImage'), join(dir, 'vmlinux-gz')), 'gzip');
    assert.deepEqual(readFileSync(join(dir, 'vmlinux-gz')), fakeElf);
    if (!(await hasCommand('xz'))) return t.skip('xz not installed');
    writeFileSync(join(dir, 'raw'), fakeElf);
    await exec('xz', ['--check=crc32', '-k', join(dir, 'raw')]);
    writeFileSync(join(dir, 'xz.bzImage'), bzImage(readFileSync(join(dir, 'raw.xz')), true));
    assert.equal(await extractVmlinux(join(dir, 'xz.bzImage'), join(dir, 'vmlinux-xz')), 'xz');
    assert.deepEqual(readFileSync(join(dir, 'vmlinux-xz')), fakeElf);
    // A payload that decompresses to something other than an ELF leaves no file behind.
    writeFileSync(join(dir, 'junk.bzImage'), bzImage(gzipSync(Buffer.from('not an elf at all')), false));
    await assert.rejects(extractVmlinux(join(dir, 'junk.bzImage'), join(dir, 'vmlinux-junk')), /not an ELF vmlinux/);
    assert.equal(existsSync(join(dir, 'vmlinux-junk')), false);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Debian's bzImage yields a vmlinux with the PVH entry note", async (t) => {
  const [stock] = await cachedStockKernels();
  if (!stock) return t.skip('no stock kernel in the cache yet (test/e2e/kernel-stock.test.ts fetches it)');
  if (!stock.files.vmlinux) return assert.fail(`the cached stock kernel ${stock.files.release} has no vmlinux (payload ${stock.files.payloadCompression})`);
  const payload = bzImagePayload(readFileSync(join(stock.dir, stock.files.bzImage)), 'vmlinuz');
  assert.equal(payload.compression, stock.files.payloadCompression);
  assert.ok(hasPvhNote(readFileSync(join(stock.dir, stock.files.vmlinux)), 'vmlinux'));
});
