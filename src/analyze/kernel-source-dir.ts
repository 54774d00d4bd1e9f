/** The unpacked kernel source (for Makefiles), if the custom-kernel stage has unpacked it; never unpacks. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../util/paths.ts';

export function unpackedSourceDir(version: string): string | undefined {
  const dir = cacheDir('src', version);
  return existsSync(join(dir, 'Makefile')) ? dir : undefined;
}
