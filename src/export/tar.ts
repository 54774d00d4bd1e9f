/**
 * A small POSIX ustar writer for container image layers and archives:
 * directories and regular files with the owner, mode and time given (no
 * host metadata leaks in), so the same inputs give the same bytes.
 */

export interface TarEntry {
  /** Path inside the archive, no leading slash; directories end without a slash. */
  readonly path: string;
  readonly type: 'file' | 'dir';
  readonly data?: Buffer;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch. */
  readonly mtime?: number;
}

const block = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(e: TarEntry): Buffer {
  const h = Buffer.alloc(block);
  const name = e.type === 'dir' ? `${e.path}/` : e.path;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', name.length - 2);
    if (cut <= 0 || cut > 155 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`tar: path too long: ${name}`);
    h.write(name.slice(cut + 1), 0, 'utf8');
    h.write(name.slice(0, cut), 345, 'utf8');
  } else h.write(name, 0, 'utf8');
  h.write(octal(e.mode, 8), 100, 'ascii');
  h.write(octal(e.uid, 8), 108, 'ascii');
  h.write(octal(e.gid, 8), 116, 'ascii');
  h.write(octal(e.type === 'file' ? e.data?.length ?? 0 : 0, 12), 124, 'ascii');
  h.write(octal(e.mtime ?? 0, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(e.type === 'dir' ? '5' : '0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** The archive: each entry's header and data padded to 512 bytes, then two zero blocks. */
export function tarArchive(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e));
    if (e.type === 'file' && e.data?.length) {
      parts.push(e.data);
      const pad = (block - (e.data.length % block)) % block;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(2 * block));
  return Buffer.concat(parts);
}
