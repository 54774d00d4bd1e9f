/** The unpacked kernel source (for Makefiles), if the custom-kernel stage has unpacked it; never unpacks. */
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../util/paths.ts';

/** With the kernel's build tree: the source it was built from (a patched copy for a patched kernel, named by the tree's `source` link). */
export function unpackedSourceDir(version: string, treeDir?: string): string | undefined {
  if (treeDir && existsSync(join(treeDir, 'source', 'Makefile'))) return realpathSync(join(treeDir, 'source'));
  const dir = cacheDir('src', version);
  return existsSync(join(dir, 'Makefile')) ? dir : undefined;
}
