import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where modules/, conf/ and guest/ live). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Tailor's cache (kernels, packages, probes): $TAILOR_CACHE, else $XDG_CACHE_HOME/tailor, else ~/.cache/tailor. */
export function cacheDir(...parts: string[]): string {
  const base =
    process.env.TAILOR_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tailor');
  return join(base, ...parts);
}
