/**
 * Builds the guest init (guest/init/, C, static: musl on x86-64, glibc when
 * cross-built for arm64) into Tailor's cache, keyed by the hash of its
 * sources and of the compiler, so an unchanged init is never rebuilt and a
 * changed one never reused.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MissingToolError, TailorError } from '../errors.ts';
import { exec, hasCommand } from '../util/exec.ts';
import { cacheDir, repoRoot } from '../util/paths.ts';
import { tempSibling } from '../util/atomic.ts';
import { targetArches, type TargetArch } from '../config/arch.ts';

/** Where the init's C sources live. */
export const guestInitSourceDir = join(repoRoot, 'guest', 'init');

/** The make targets of guest/init/Makefile that produce a guest binary. */
type GuestTarget = 'init' | 'tprog';

/** Path of the static init binary (PID 1 of every image) for `arch`, built if needed. */
export function buildGuestInit(arch: TargetArch = targetArches.x64): Promise<string> {
  return buildGuestTarget('init', arch);
}

/** Path of the init's test program (used by the real-guest tests), built if needed. */
export function buildGuestTestProgram(arch: TargetArch = targetArches.x64): Promise<string> {
  return buildGuestTarget('tprog', arch);
}

/** Hash of everything the build reads: Makefile, sources, tests/ and the compiler (name and version). */
export async function guestInitSourceHash(arch: TargetArch = targetArches.x64): Promise<string> {
  const hash = createHash('sha256');
  const files: string[] = [];
  for (const dir of ['', 'tests']) {
    const names = await readdir(join(guestInitSourceDir, dir));
    for (const name of names.sort()) {
      if (name === 'Makefile' || name.endsWith('.c') || name.endsWith('.h')) files.push(join(dir, name));
    }
  }
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(guestInitSourceDir, file)));
    hash.update('\0');
  }
  const cc = await exec(arch.guest.cc, ['--version'], { allowFailure: true });
  hash.update(cc.stdout.split('\n')[0] ?? '');
  return hash.digest('hex').slice(0, 16);
}


async function buildGuestTarget(target: GuestTarget, arch: TargetArch): Promise<string> {
  if (!(await hasCommand(arch.guest.cc))) {
    throw new MissingToolError(arch.guest.cc, arch.guest.ccPackage, `it builds the static guest init for ${arch.title}`);
  }
  if (!(await hasCommand('make'))) {
    throw new MissingToolError('make', 'make', 'it drives the guest init build');
  }
  const dir = cacheDir('init', await guestInitSourceHash(arch));
  const binary = join(dir, target);
  if (existsSync(binary)) return binary;

  // Build beside the final folder, then rename: a crash never leaves a half-built init to reuse.
  const tmp = tempSibling(`${dir}-${target}`);
  await mkdir(tmp, { recursive: true });
  try {
    const r = await exec('make', ['-s', '-C', guestInitSourceDir, `O=${tmp}`, `CC_GUEST=${arch.guest.cc}`, target], { allowFailure: true });
    if (r.code !== 0) {
      const detail = (r.stderr || r.stdout).trim().split('\n').slice(-15).join('\n');
      throw new TailorError(`building the guest init (make ${target} in guest/init) failed:\n${detail}`, {
        hint: `fix the compiler error above; the init must build warning-free with ${arch.guest.cc} -Wall -Wextra -Werror`,
      });
    }
    await mkdir(dir, { recursive: true });
    try {
      await rename(join(tmp, target), binary);
    } catch (err) {
      // another build of the same sources won the race: its binary is identical
      if (!existsSync(binary)) throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return binary;
}
