/**
 * Compressors for an initramfs, in the exact formats the kernel's
 * decompressors read, each one reproducible (same input, same bytes).
 */
import { spawn } from 'node:child_process';
import { Duplex, PassThrough } from 'node:stream';
import { constants, createGzip } from 'node:zlib';
import { MissingToolError, TailorError, UsageError } from '../errors.ts';
import type { RamfsCompression } from './types.ts';

export const ramfsCompressions: readonly RamfsCompression[] = ['none', 'gzip', 'lz4', 'zstd', 'xz'];

/** Host tool, its apt package and its arguments (stdin → stdout). */
const tools: Record<Exclude<RamfsCompression, 'none' | 'gzip'>, { cmd: string; apt: string; args: string[] }> = {
  // The kernel's unlz4 reads only the legacy frame format (-l).
  lz4: { cmd: 'lz4', apt: 'lz4', args: ['-l', '-9', '-q', '-c'] },
  zstd: { cmd: 'zstd', apt: 'zstd', args: ['-19', '-q', '-c', '-T1'] },
  // The kernel's xz decoder knows CRC32 and no other check, and allocates the whole dictionary:
  // 1 MiB as the kernel's own usr/Makefile uses (preset 9 would ask a small guest for 64 MiB). One thread, one block.
  xz: { cmd: 'xz', apt: 'xz-utils', args: ['--check=crc32', '--lzma2=preset=9,dict=1MiB', '-T1', '-q', '-c'] },
};

export function checkRamfsCompression(c: string): RamfsCompression {
  if (!(ramfsCompressions as readonly string[]).includes(c)) {
    throw new UsageError(`fs_compression=${c} is not available for an initramfs`, `use one of: ${ramfsCompressions.join(', ')}`);
  }
  return c as RamfsCompression;
}

/**
 * A duplex stream compressing what is written to it. `done` settles when a
 * host tool has exited (rejects when it failed); for in-process ones at once.
 */
export function compressor(c: RamfsCompression): { stream: Duplex; done: Promise<void> } {
  if (c === 'none') return { stream: new PassThrough(), done: Promise.resolve() };
  // Node's gzip header has mtime 0 and no file name: nothing varies between runs.
  if (c === 'gzip') return { stream: createGzip({ level: constants.Z_BEST_COMPRESSION }), done: Promise.resolve() };
  const tool = tools[c];
  const child = spawn(tool.cmd, tool.args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (b: Buffer) => stderr.push(b));
  const stream = Duplex.from({ writable: child.stdin, readable: child.stdout });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      const err =
        e.code === 'ENOENT'
          ? new MissingToolError(tool.cmd, tool.apt, `needed for fs_compression=${c}`)
          : new TailorError(`cannot run ${tool.cmd}: ${e.message}`);
      stream.destroy(err);
      reject(err);
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else {
        const msg = Buffer.concat(stderr).toString('utf8').trim();
        reject(new TailorError(`${tool.cmd} ${tool.args.join(' ')} failed (${signal ?? `exit ${code}`})${msg ? `: ${msg}` : ''}`));
      }
    });
  });
  done.catch(() => {}); // observed by the caller; avoid an unhandled rejection if the pipeline fails first
  return { stream, done };
}
