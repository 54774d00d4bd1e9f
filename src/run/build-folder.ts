/**
 * Finding and reading a build folder (build/<name>/build.json) for `tailor run`
 * and the benches, and checking that its files are the ones build.json lists.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { TailorError, UsageError } from '../errors.ts';
import type { ArtifactRecord, BuildRecord } from '../image/types.ts';
import { sha256FileSync } from '../util/sha256.ts';
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

/** Reads build.json and checks that the files a boot reads are the ones it lists (size and sha256). */
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
  const problem = bootFileProblems(dir, record)[0];
  if (problem) {
    throw new TailorError(`${problem.path} ${problem.what} (build.json names it); the build folder is damaged or half-written, and is not used`, {
      hint: `rebuild it: \`tailor build\` with the same options (build.json lists them under "options")`,
    });
  }
  if (!record.initrd && !record.rootDisk) {
    throw new TailorError(`${jsonPath} names neither an initrd nor a root disk`, { hint: 'rebuild the image' });
  }
  return { dir, record };
}

/** A file build.json lists, and whether the guest writes to it (then only its size can be checked). */
export interface ListedFile extends ArtifactRecord {
  readonly writable: boolean;
}

/** The files a boot reads: kernel (bzImage, vmlinux), initramfs, root disk. A writable root disk changes as the guest writes. */
export function bootFiles(record: BuildRecord): ListedFile[] {
  const ro = (a: ArtifactRecord | undefined): ListedFile[] => (a ? [{ file: a.file, bytes: a.bytes, sha256: a.sha256, writable: false }] : []);
  const root = record.rootDisk;
  return [
    ...ro(record.kernel.bzImage),
    ...ro(record.kernel.vmlinux),
    ...ro(record.initrd),
    ...(root ? [{ file: root.file, bytes: root.bytes, sha256: root.sha256, writable: !root.readOnly }] : []),
  ];
}

/** Every file build.json lists: the boot files and the others (cmdline, usr.manifest, export/...). */
export function listedFiles(record: BuildRecord): ListedFile[] {
  return [...bootFiles(record), ...(record.extraFiles ?? []).map((a) => ({ ...a, writable: false }))];
}

export interface FileProblem {
  readonly path: string;
  /** "is missing", "has N bytes, not M", "does not have the sha256 build.json lists". */
  readonly what: string;
}

/** How each of `files` in `dir` differs from its listing; empty when all match. */
export function fileProblems(dir: string, files: readonly ListedFile[]): FileProblem[] {
  const out: FileProblem[] = [];
  for (const f of files) {
    const path = join(dir, f.file);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      out.push({ path, what: 'is missing' });
      continue;
    }
    if (size !== f.bytes) out.push({ path, what: `has ${size} bytes, not the ${f.bytes} build.json lists` });
    else if (!f.writable && sha256FileSync(path) !== f.sha256) out.push({ path, what: 'does not have the sha256 build.json lists' });
  }
  return out;
}

export const bootFileProblems = (dir: string, record: BuildRecord): FileProblem[] => fileProblems(dir, bootFiles(record));
