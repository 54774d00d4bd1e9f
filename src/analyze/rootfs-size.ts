/**
 * Root filesystem by file and by module: the initramfs is unpacked in memory
 * (newc cpio, after its compressor) for exact per-file sizes; the module of
 * each file comes from build/<name>/usr.manifest ("# module" comments).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { TailorError } from '../errors.ts';
import type { BuildRecord } from '../image/types.ts';

export interface RootfsFile {
  readonly path: string;
  readonly bytes: number;
  readonly module: string;
}

export interface RootfsSize {
  /** Bytes of the initrd or root disk on disk. */
  readonly onDisk: number;
  readonly format: string;
  /** Sum of file sizes, when the content could be read. */
  readonly content?: number;
  /** content / onDisk. */
  readonly compressionRatio?: number;
  readonly files: readonly RootfsFile[];
  readonly modules: readonly { readonly module: string; readonly bytes: number; readonly files: number }[];
}

/** Regular files of a newc ("070701") cpio archive with their sizes. */
export function parseCpioNewc(data: Buffer): { path: string; bytes: number }[] {
  const out: { path: string; bytes: number }[] = [];
  let o = 0;
  const align4 = (n: number) => (n + 3) & ~3;
  while (o + 110 <= data.length) {
    const magic = data.toString('latin1', o, o + 6);
    if (magic !== '070701' && magic !== '070702') {
      if (data[o] === 0) { o++; continue; } // padding between concatenated archives
      throw new TailorError(`initramfs: bad cpio header at byte ${o} (magic ${JSON.stringify(magic)})`);
    }
    const hex = (i: number) => Number.parseInt(data.toString('latin1', o + 6 + i * 8, o + 14 + i * 8), 16);
    const mode = hex(1);
    const fileSize = hex(6);
    const nameSize = hex(11);
    const name = data.toString('utf8', o + 110, o + 110 + nameSize - 1);
    o = align4(o + 110 + nameSize);
    if (name === 'TRAILER!!!') { o += fileSize; continue; }
    if ((mode & 0o170000) === 0o100000) out.push({ path: '/' + name.replace(/^\.?\//, ''), bytes: fileSize });
    o = align4(o + fileSize);
  }
  return out;
}

function decompress(path: string, compression: string): Buffer {
  const raw = readFileSync(path);
  if (compression === 'none') return raw;
  if (compression === 'gzip' || compression === 'auto') return gunzipSync(raw);
  const tool: Record<string, string[]> = { lz4: ['lz4', '-dc'], lz4hc: ['lz4', '-dc'], zstd: ['zstd', '-dc'], xz: ['xz', '-dc'], lzo: ['lzop', '-dc'] };
  const cmd = tool[compression];
  if (!cmd) throw new TailorError(`initramfs compression ${compression} is not known to tailor size`);
  try {
    return execFileSync(cmd[0]!, [...cmd.slice(1), path], { maxBuffer: 1 << 31, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new TailorError(`cannot decompress ${path} with ${cmd[0]}: ${(e as Error).message}`, { hint: `install Debian's ${cmd[0]} package` });
  }
}

/** path → module, from usr.manifest lines "path: source  # module". */
export function manifestModules(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\/[^:]*):.*#\s*(\S+)\s*$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

export async function analyzeRootfs(dir: string, record: BuildRecord): Promise<RootfsSize> {
  const manifestPath = join(dir, 'usr.manifest');
  const owners = existsSync(manifestPath) ? manifestModules(readFileSync(manifestPath, 'utf8')) : new Map<string, string>();
  let files: RootfsFile[] = [];
  let onDisk: number;
  let format: string;
  if (record.initrd) {
    onDisk = record.initrd.bytes;
    format = `initramfs (cpio, ${record.initrd.compression})`;
    const cpio = decompress(join(dir, record.initrd.file), record.initrd.compression);
    files = parseCpioNewc(cpio).map((f) => ({ ...f, module: owners.get(f.path) ?? moduleByPrefix(owners, f.path) }));
  } else {
    onDisk = record.rootDisk!.bytes;
    format = `${record.rootDisk!.fs} disk`;
  }
  files.sort((a, b) => b.bytes - a.bytes || a.path.localeCompare(b.path));
  const byModule = new Map<string, { bytes: number; files: number }>();
  for (const f of files) {
    const m = byModule.get(f.module) ?? { bytes: 0, files: 0 };
    m.bytes += f.bytes;
    m.files += 1;
    byModule.set(f.module, m);
  }
  const modules = [...byModule.entries()].map(([module, v]) => ({ module, ...v })).sort((a, b) => b.bytes - a.bytes || a.module.localeCompare(b.module));
  const content = files.length ? files.reduce((n, f) => n + f.bytes, 0) : undefined;
  return { onDisk, format, files, modules, ...(content !== undefined ? { content, compressionRatio: content / onDisk } : {}) };
}

/** Files under a manifest directory entry (e.g. /usr/lib/** globs) belong to that entry's module. */
function moduleByPrefix(owners: ReadonlyMap<string, string>, path: string): string {
  let best = '';
  let mod = '(unlisted)';
  for (const [p, m] of owners) if (path.startsWith(p.endsWith('/') ? p : `${p}/`) && p.length > best.length) { best = p; mod = m; }
  return mod;
}
