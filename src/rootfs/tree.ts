/**
 * Normalises a ContentTree before any writer sees it: paths checked, duplicates
 * merged or rejected, missing parent directories added, entries sorted. Every
 * writer (cpio, staging for mkfs tools) works from this one ordered list, so
 * all images of the same tree list their files in the same order.
 */
import { createHash } from 'node:crypto';
import { sha256File } from '../util/sha256.ts';
import { stat } from 'node:fs/promises';
import { TailorError, UsageError } from '../errors.ts';
import type { ContentTree, TreeEntry } from './types.ts';

/** Mode of a directory the writer adds because a deeper path needs it. */
export const IMPLIED_DIR_MODE = 0o755;

/** A tree entry with its path split into components; the root directory '/' has none. */
export interface NormalEntry {
  readonly entry: TreeEntry;
  /** Path without the leading slash ('etc/tailor/cmdline'); '' for the root. */
  readonly name: string;
  readonly parts: readonly string[];
  /** Byte size of a file (from stat, at normalisation time) or data entry. */
  readonly size: number;
}

/** Split and check a guest path: absolute, no '.', '..' or empty components, no NUL. */
export function splitGuestPath(path: string): string[] {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new UsageError(`content path "${path}" is not absolute`, 'guest paths start with "/", e.g. /usr/bin/app');
  }
  if (path.includes('\0')) throw new UsageError(`content path ${JSON.stringify(path)} contains a NUL byte`);
  const parts = path.split('/').filter((p, i, all) => !(p === '' && (i === 0 || i === all.length - 1)));
  for (const p of parts) {
    if (p === '' || p === '.' || p === '..') {
      throw new UsageError(
        `content path "${path}" has a "${p || '//'}" component`,
        'write the path without ".", ".." or doubled slashes, e.g. /usr/lib/x.so',
      );
    }
  }
  return parts;
}

/** Component-wise order: a directory always comes right before everything inside it. */
export function comparePaths(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return Buffer.compare(Buffer.from(a[i]!), Buffer.from(b[i]!));
  }
  return a.length - b.length;
}

function describe(e: TreeEntry): string {
  switch (e.kind) {
    case 'dir':
      return `directory (mode ${e.mode.toString(8)})`;
    case 'file':
      return `file from ${e.source} (mode ${e.mode.toString(8)})`;
    case 'data':
      return `generated file of ${e.data.length} bytes (mode ${e.mode.toString(8)})`;
    case 'symlink':
      return `symlink to ${e.target}`;
    case 'chardev':
      return `character device ${e.major}:${e.minor} (mode ${e.mode.toString(8)})`;
  }
}

/** The bytes two entries would put in the image are the same (duplicates from two modules are fine then). */
async function sameContent(a: TreeEntry, b: TreeEntry): Promise<boolean> {
  if (a.kind === 'symlink' || b.kind === 'symlink') {
    return a.kind === 'symlink' && b.kind === 'symlink' && a.target === b.target;
  }
  if (a.mode !== b.mode) return false;
  if (a.kind === 'dir' || b.kind === 'dir') return a.kind === b.kind;
  if (a.kind === 'chardev' || b.kind === 'chardev') {
    return a.kind === 'chardev' && b.kind === 'chardev' && a.major === b.major && a.minor === b.minor;
  }
  if (a.kind === 'file' && b.kind === 'file' && a.source === b.source) return true;
  const digest = (e: TreeEntry) =>
    e.kind === 'file' ? sha256File(e.source) : createHash('sha256').update((e as { data: Uint8Array }).data).digest('hex');
  return (await digest(a)) === (await digest(b));
}

async function sourceSize(e: TreeEntry): Promise<number> {
  if (e.kind === 'data') return e.data.length;
  if (e.kind !== 'file') return 0;
  try {
    const st = await stat(e.source);
    if (!st.isFile()) throw new TailorError(`content file ${e.path}: its source ${e.source} is not a regular file`);
    return st.size;
  } catch (err) {
    if (err instanceof TailorError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new TailorError(`content file ${e.path}: cannot read its source ${e.source} (${code ?? String(err)})`, {
      hint: 'check the module manifest that lists it, or rebuild the module that produces it',
    });
  }
}

/**
 * Check, merge and sort a tree; the root directory "/" is always the first entry. Throws UsageError for a bad path or for two
 * different entries at one path (naming both), TailorError for a missing source.
 */
export async function normalizeTree(tree: ContentTree): Promise<NormalEntry[]> {
  const byName = new Map<string, { entry: TreeEntry; parts: string[] }>();
  for (const entry of tree.entries) {
    const parts = splitGuestPath(entry.path);
    const name = parts.join('/');
    const prev = byName.get(name);
    if (prev) {
      if (!(await sameContent(prev.entry, entry))) {
        throw new UsageError(
          `two different entries for /${name}: ${describe(prev.entry)} and ${describe(entry)}`,
          'keep one of them (check which modules list this path)',
        );
      }
      continue;
    }
    byName.set(name, { entry, parts });
  }
  // Parents a deeper path needs; a parent that exists must be a directory.
  for (const { parts } of [...byName.values()]) {
    for (let i = 1; i < parts.length; i++) {
      const pname = parts.slice(0, i).join('/');
      const p = byName.get(pname);
      if (!p) {
        byName.set(pname, { entry: { kind: 'dir', path: `/${pname}`, mode: IMPLIED_DIR_MODE }, parts: parts.slice(0, i) });
      } else if (p.entry.kind !== 'dir') {
        throw new UsageError(
          `/${pname} is a ${describe(p.entry)}, but /${parts.join('/')} needs it to be a directory`,
          'remove one of the two entries',
        );
      }
    }
  }
  if (!byName.has('')) byName.set('', { entry: { kind: 'dir', path: '/', mode: IMPLIED_DIR_MODE }, parts: [] });
  const sorted = [...byName.entries()].sort((a, b) => comparePaths(a[1].parts, b[1].parts));
  const out: NormalEntry[] = [];
  for (const [name, { entry, parts }] of sorted) {
    if (name === '' && entry.kind !== 'dir') throw new UsageError(`the root "/" must be a directory, not a ${describe(entry)}`);
    out.push({ entry, name, parts, size: await sourceSize(entry) });
  }
  return out;
}
