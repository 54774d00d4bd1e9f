/** Finding and reading a build folder (build/<name>/build.json) for `tailor run` and the boot bench. */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { TailorError, UsageError } from '../errors.ts';
import type { BuildRecord } from '../image/types.ts';
import { checkBuildRecord } from './build-record-check.ts';

export interface BuildFolder {
  /** Absolute path of the folder (symlinks such as build/last resolved). */
  readonly dir: string;
  readonly record: BuildRecord;
}

/**
 * The build folder a user means: nothing → build/last; a bare name → build/<name>;
 * anything with a slash (or an existing directory) → that path.
 */
export function resolveBuildDir(arg: string | undefined, cwd: string = process.cwd()): string {
  if (arg === undefined || arg === '') return join(cwd, 'build', 'last');
  if (arg.includes('/') || isAbsolute(arg)) return resolve(cwd, arg);
  const named = join(cwd, 'build', arg);
  try {
    if (statSync(named).isDirectory()) return named;
  } catch {
    /* fall through: maybe a folder in cwd */
  }
  try {
    if (statSync(resolve(cwd, arg)).isDirectory()) return resolve(cwd, arg);
  } catch {
    /* reported below */
  }
  return named;
}

/** Reads build.json and checks that the files it names are there. */
export function loadBuildFolder(dirArg: string): BuildFolder {
  let dir: string;
  try {
    if (!statSync(dirArg).isDirectory()) throw new Error('not a directory');
    // Resolved once, so a run keeps its files even if build/last moves on meanwhile.
    dir = realpathSync(resolve(dirArg));
  } catch {
    throw new UsageError(
      `no build folder at ${dirArg}`,
      'run `tailor build ...` first (it writes build/<name>/ and points build/last at it), or name an existing build folder',
    );
  }
  const jsonPath = join(dir, 'build.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(jsonPath, 'utf8'));
  } catch (e) {
    throw new TailorError(`cannot read ${jsonPath}: ${(e as Error).message}`, {
      hint: 'the build folder is incomplete; run `tailor build ...` again',
    });
  }
  const record = checkBuildRecord(parsed, jsonPath);
  const files = [record.kernel.bzImage, record.kernel.vmlinux, record.initrd, record.rootDisk];
  for (const f of files) {
    if (f === undefined) continue;
    try {
      statSync(join(dir, f.file));
    } catch {
      throw new TailorError(`${join(dir, f.file)} is missing (build.json names it)`, {
        hint: 'the build folder is incomplete; run `tailor build ...` again',
      });
    }
  }
  if (!record.initrd && !record.rootDisk) {
    throw new TailorError(`${jsonPath} names neither an initrd nor a root disk`, { hint: 'rebuild the image' });
  }
  return { dir, record };
}
