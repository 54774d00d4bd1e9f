/**
 * A streaming cpio "newc" writer for initramfs images (the format the kernel
 * unpacks: Documentation/driver-api/early-userspace/buffer-format.rst).
 * Entries come sorted from normalizeTree, owned by root, with one fixed
 * mtime and inode numbers given in that order, so the same tree always gives
 * the same bytes. File contents are streamed, never held whole in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TailorError } from '../errors.ts';
import { tempSibling } from '../util/atomic.ts';
import { checkRamfsCompression, compressor } from './compress.ts';
import { normalizeTree, type NormalEntry } from './tree.ts';
import type { ContentTree, RamfsCompression } from './types.ts';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const MAX_FIELD = 0xffffffff;

export interface CpioOptions {
  /** mtime of every entry, seconds since the epoch (default 0); pass SOURCE_DATE_EPOCH here if you have one. */
  readonly mtime?: number;
}

export interface CpioResult {
  /** Size of the written (compressed) file. */
  readonly bytes: number;
  readonly sha256: string;
  /** Size of the cpio archive before compression. */
  readonly uncompressedBytes: number;
}

interface Header {
  ino: number;
  mode: number;
  nlink: number;
  mtime: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function hex8(value: number, what: string): string {
  if (!Number.isInteger(value) || value < 0 || value > MAX_FIELD) {
    throw new TailorError(`cpio: ${what} ${value} does not fit the newc format (0..4294967295)`);
  }
  return value.toString(16).toUpperCase().padStart(8, '0');
}

/** The 110-byte header, the NUL-terminated name and the padding that aligns the data to 4 bytes. */
export function newcHeader(h: Header): Buffer {
  const name = Buffer.from(`${h.name}\0`, 'utf8');
  const fields = [
    hex8(h.ino, `inode of ${h.name}`),
    hex8(h.mode, `mode of ${h.name}`),
    '00000000', // uid: root
    '00000000', // gid: root
    hex8(h.nlink, `link count of ${h.name}`),
    hex8(h.mtime, 'mtime'),
    hex8(h.size, `size of ${h.name}`),
    '00000000', // devmajor
    '00000000', // devminor
    hex8(h.rdevMajor, `device major of ${h.name}`),
    hex8(h.rdevMinor, `device minor of ${h.name}`),
    hex8(name.length, `name length of ${h.name}`),
    '00000000', // check: unused by newc
  ];
  const head = Buffer.from(`070701${fields.join('')}`, 'ascii');
  return Buffer.concat([head, name, Buffer.alloc(pad4(head.length + name.length))]);
}

/** Link count of each directory: 2 plus its subdirectories, as a real file system reports. */
function directoryLinks(entries: readonly NormalEntry[]): Map<string, number> {
  const links = new Map<string, number>();
  for (const e of entries) if (e.entry.kind === 'dir') links.set(e.name, 2);
  for (const e of entries) {
    if (e.entry.kind !== 'dir' || e.parts.length === 0) continue;
    const parent = e.parts.slice(0, -1).join('/');
    links.set(parent, (links.get(parent) ?? 2) + 1);
  }
  return links;
}

/** The archive as a stream of buffers; the root directory itself is not an entry (the kernel's rootfs exists). */
async function* archive(entries: readonly NormalEntry[], mtime: number): AsyncGenerator<Buffer> {
  const links = directoryLinks(entries);
  let ino = 0;
  for (const n of entries) {
    if (n.name === '') continue;
    ino += 1;
    const e = n.entry;
    const base = { ino, mtime, name: n.name, rdevMajor: 0, rdevMinor: 0 };
    switch (e.kind) {
      case 'dir':
        yield newcHeader({ ...base, mode: S_IFDIR | (e.mode & 0o7777), nlink: links.get(n.name) ?? 2, size: 0 });
        break;
      case 'symlink': {
        const target = Buffer.from(e.target, 'utf8');
        yield newcHeader({ ...base, mode: S_IFLNK | 0o777, nlink: 1, size: target.length });
        yield Buffer.concat([target, Buffer.alloc(pad4(target.length))]);
        break;
      }
      case 'chardev':
        yield newcHeader({ ...base, mode: S_IFCHR | (e.mode & 0o7777), nlink: 1, size: 0, rdevMajor: e.major, rdevMinor: e.minor });
        break;
      case 'data':
        yield newcHeader({ ...base, mode: S_IFREG | (e.mode & 0o7777), nlink: 1, size: e.data.length });
        yield Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);
        if (pad4(e.data.length)) yield Buffer.alloc(pad4(e.data.length));
        break;
      case 'file': {
        yield newcHeader({ ...base, mode: S_IFREG | (e.mode & 0o7777), nlink: 1, size: n.size });
        let read = 0;
        for await (const chunk of createReadStream(e.source, { highWaterMark: 1 << 20 })) {
          read += (chunk as Buffer).length;
          if (read > n.size) break;
          yield chunk as Buffer;
        }
        if (read !== n.size) {
          throw new TailorError(`content file /${n.name}: its source ${e.source} changed size while the image was written`, {
            hint: 'run the build again when nothing writes to that file',
          });
        }
        if (pad4(n.size)) yield Buffer.alloc(pad4(n.size));
        break;
      }
    }
  }
  yield newcHeader({ ino: 0, mode: 0, nlink: 1, mtime: 0, size: 0, rdevMajor: 0, rdevMinor: 0, name: 'TRAILER!!!' });
}

/** Counts bytes and hashes what passes through. */
function meter(): { stream: Transform; bytes: () => number; hash: () => string } {
  const h = createHash('sha256');
  let n = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      n += chunk.length;
      cb(null, chunk);
    },
  });
  return { stream, bytes: () => n, hash: () => h.digest('hex') };
}

/**
 * Write `tree` as a cpio newc archive to outPath, compressed as asked. The
 * file appears only when complete (temp sibling, then rename).
 */
export async function writeCpio(
  tree: ContentTree,
  outPath: string,
  compression: RamfsCompression,
  options: CpioOptions = {},
): Promise<CpioResult> {
  const c = checkRamfsCompression(compression);
  const mtime = options.mtime ?? 0;
  const entries = await normalizeTree(tree);
  await mkdir(dirname(outPath), { recursive: true });
  const tmp = tempSibling(outPath);
  const raw = meter();
  const out = meter();
  const comp = compressor(c);
  try {
    await Promise.all([
      pipeline(Readable.from(archive(entries, mtime), { objectMode: false }), raw.stream, comp.stream, out.stream, createWriteStream(tmp)),
      comp.done,
    ]);
    await rename(tmp, outPath);
  } catch (err) {
    comp.stream.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
  return { bytes: out.bytes(), sha256: out.hash(), uncompressedBytes: raw.bytes() };
}
