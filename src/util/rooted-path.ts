/**
 * Paths inside a folder that holds another system's files (an unpacked
 * package tree), as that system sees them: an absolute symlink target such
 * as /lib/aarch64-linux-gnu/libc.so.6 means the folder's own lib/, never the
 * host's, and `..` stops at the folder.
 */
import { lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';

const MAX_LINKS = 40; // as the kernel's path walk (ELOOP)

/** The path `path` (absolute, as the tree's system sees it) resolves to through symlinks, also as the tree sees it. Throws ENOENT/ELOOP like realpath. */
export async function realpathIn(root: string, path: string): Promise<string> {
  const pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const here = join(root, ...done, part);
    const st = await lstat(here); // throws ENOENT for a missing component
    if (!st.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw Object.assign(new Error(`too many levels of symbolic links: ${path} in ${root}`), { code: 'ELOOP' });
    const target = await readlink(here);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return posix.join('/', ...done);
}

/** The host path of `path` as the tree sees it (no symlinks followed). */
export function hostPathIn(root: string, path: string): string {
  return join(root, posix.normalize(path));
}
