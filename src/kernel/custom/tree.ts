/**
 * Kernel build trees, cacheDir('kbuild', <fragment hash>): the objects make
 * keeps between builds. Linux records, per object, the CONFIG symbols it
 * depends on (fixdep, include/config/), so a tree reused with another .config
 * recompiles only what those symbols touch. A new configuration therefore
 * starts from a copy of the nearest finished tree (fewest differing symbols,
 * same source, compiler and make variables).
 *
 * A tree is finished when it carries FINISHED (written last, after its kernel
 * landed in the cache); make removes nothing from a tree it works on before
 * that file is gone, so a killed build's tree is never used as a base. A
 * killed build's own tree is reused by the next build of its fragment, after
 * dropping the targets make was writing when it died (see repairTree).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exec } from '../../util/exec.ts';
import { writeFileAtomic } from '../../util/atomic.ts';
import { cacheDir } from '../../util/paths.ts';
import { parseDotConfig, valueIn } from './kconfig.ts';

export const treesDir = (): string => cacheDir('kbuild');
export const treeDir = (fragmentHash: string): string => cacheDir('kbuild', fragmentHash);

/** Written last into a finished tree. */
const FINISHED = '.tailor-finished';

export interface TreeInfo {
  /** The cached kernel this tree built. */
  readonly key: string;
  readonly fragmentHash: string;
  readonly sourceVersion: string;
  readonly compiler: string;
  readonly makeVars: Readonly<Record<string, string>>;
  /** The source folder make read (absent in trees from before patched sources: the shared unpacked source). */
  readonly sourceDir?: string;
  /** Files (relative to the source) the tree's patch series changed or added; absent or empty: none. */
  readonly sourceFiles?: readonly string[];
  readonly finishedAt: string;
  /** Changes every time the tree is finished: a copy checks it did not change while copying. */
  readonly nonce: string;
}

export async function readFinished(dir: string): Promise<TreeInfo | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, FINISHED), 'utf8')) as TreeInfo;
  } catch {
    return undefined;
  }
}

export async function markFinished(dir: string, info: Omit<TreeInfo, 'finishedAt' | 'nonce'>): Promise<void> {
  const full: TreeInfo = { ...info, finishedAt: new Date().toISOString(), nonce: randomBytes(8).toString('hex') };
  await writeFileAtomic(join(dir, FINISHED), JSON.stringify(full, null, 2) + '\n');
}

/** Before make touches a tree: from now on it is not a finished tree. */
export async function markUnfinished(dir: string): Promise<void> {
  await rm(join(dir, FINISHED), { force: true });
}

/** Written before make first runs in a tree: from then on its .config is the final one and make may have left objects. */
const STARTED = '.tailor-started';

export async function markStarted(dir: string): Promise<void> {
  await writeFile(join(dir, STARTED), '');
}

/**
 * A tree make has worked in (a finished one, or a killed build's). Not the
 * same as include/config/auto.conf, which Kconfig already writes when it
 * only configures.
 */
export function hasBuilt(dir: string): boolean {
  return existsSync(join(dir, STARTED)) || existsSync(join(dir, FINISHED));
}

/** Symbols whose value differs between two .config texts (unset counts as n). */
export function configDistance(a: string, b: string): number {
  const ma = parseDotConfig(a);
  const mb = parseDotConfig(b);
  let n = 0;
  for (const s of new Set([...ma.keys(), ...mb.keys()])) if (valueIn(ma, s) !== valueIn(mb, s)) n++;
  return n;
}

export interface BaseTree {
  readonly dir: string;
  readonly info: TreeInfo;
  /** Symbols whose value differs from the wanted .config. */
  readonly differing: number;
}

export interface TreeWanted {
  readonly sourceVersion: string;
  readonly compiler: string;
  readonly makeVars: Readonly<Record<string, string>>;
  readonly finalConfig: string;
  /** Files the new build's patch series changed or added (see TreeInfo.sourceFiles); absent: none. */
  readonly sourceFiles?: readonly string[];
}

/** The source a seeded tree will be built from, when it may differ from the base tree's. */
export interface SeedSource {
  /** The (maybe patched) source folder of the new build. */
  readonly dir: string;
  /** Files its patch series changed or added. */
  readonly files: readonly string[];
  /** The shared unpacked source: the source of trees that do not record theirs. */
  readonly unpatchedDir: string;
}

/**
 * A tree may seed a build of another source series only when every file its
 * own series changed is changed by the new one too: seedTree then marks those
 * files newer than every object, so make rebuilds what they touch. (A file
 * the base changed and the new build does not would keep its old object.)
 */
export function seriesCompatible(base: readonly string[] | undefined, wanted: readonly string[]): boolean {
  const want = new Set(wanted);
  return (base ?? []).every((f) => want.has(f));
}

/** Finished trees built from the same source, compiler and make variables. */
export async function finishedTrees(want: Omit<TreeWanted, 'finalConfig'>): Promise<{ dir: string; info: TreeInfo }[]> {
  if (!existsSync(treesDir())) return [];
  const out: { dir: string; info: TreeInfo }[] = [];
  for (const name of await readdir(treesDir())) {
    if (!/^[0-9a-f]{32}$/.test(name)) continue;
    const dir = treeDir(name);
    const info = await readFinished(dir);
    if (!info || info.sourceVersion !== want.sourceVersion || info.compiler !== want.compiler) continue;
    if (JSON.stringify(info.makeVars) !== JSON.stringify(want.makeVars)) continue;
    if (!seriesCompatible(info.sourceFiles, want.sourceFiles ?? [])) continue;
    out.push({ dir, info });
  }
  return out;
}

/** The finished tree whose .config is nearest to the wanted one, if any. */
export async function nearestTree(want: TreeWanted): Promise<BaseTree | undefined> {
  let best: BaseTree | undefined;
  for (const t of await finishedTrees(want)) {
    const config = await readFile(join(t.dir, '.config'), 'utf8').catch(() => undefined);
    if (config === undefined) continue;
    const differing = configDistance(config, want.finalConfig);
    if (!best || differing < best.differing) best = { ...t, differing };
  }
  return best;
}

/**
 * Replace `dest` with a copy of `base` configured with `finalConfig`. The copy
 * is made beside `dest` and renamed, so `dest` is a whole copy or absent.
 * Returns false (and leaves `dest` alone) when the base changed while it was
 * being copied.
 */
export async function seedTree(base: BaseTree, dest: string, finalConfig: string, source?: SeedSource): Promise<boolean> {
  const tmp = `${dest}.seed-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    // Reflinks where the filesystem has them (btrfs, xfs), else a real copy. Hard links would be
    // unsafe: the compiler and fixdep rewrite objects and .cmd files in place.
    await exec('cp', ['-a', '--reflink=auto', base.dir, tmp]);
    if ((await readFinished(base.dir))?.nonce !== base.info.nonce) return false;
    await markUnfinished(tmp);
    const baseSource = base.info.sourceDir ?? source?.unpatchedDir;
    const moved = source !== undefined && baseSource !== undefined && baseSource !== source.dir;
    await rebaseCommandFiles(tmp, [[base.dir, dest], ...(moved ? [[baseSource, source.dir] as const] : [])]);
    if (moved) {
      // Another series: its changed files (private copies in the patched source) become newer than every object.
      const now = new Date();
      for (const f of source.files) await utimes(join(source.dir, f), now, now).catch(() => {});
    }
    // A newer .config makes kbuild re-sync include/config/ and touch the symbols that changed.
    await writeFile(join(tmp, '.config'), finalConfig);
    await rm(dest, { recursive: true, force: true });
    await rename(tmp, dest);
    return true;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function walk(dir: string, visit: (dir: string, names: string[]) => Promise<void>): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  await visit(dir, entries.map((e) => e.name));
  for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name), visit);
}

/**
 * Some .cmd files (objtool's, built by tools/build) name files by the tree's
 * absolute path. In a copy they would point into the base tree: make would
 * rebuild them for the changed command line, or fail once the base is pruned.
 * Point them at the copy. Every .cmd names the source folder too: a base of
 * another (patched) source gets the new folder, so unchanged command lines
 * stay unchanged.
 */
async function rebaseCommandFiles(copy: string, moves: readonly (readonly [string, string])[]): Promise<void> {
  await walk(copy, async (dir, names) => {
    for (const name of names) {
      if (!name.endsWith('.cmd') && !name.endsWith('.d')) continue;
      const path = join(dir, name);
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined || !moves.some(([from]) => text.includes(from))) continue;
      await writeFile(path, moves.reduce((t, [from, to]) => t.split(from).join(to), text));
    }
  });
}

/**
 * Make a killed build's tree safe to continue. Kbuild writes a target's
 * `.NAME.cmd` after the target itself, so a target newer than its .cmd (or
 * with none beside an older one) was being written when make died: it may be
 * truncated yet look up to date. Remove those; make rebuilds them. Returns
 * the removed paths (relative to the tree).
 */
export async function repairTree(tree: string): Promise<string[]> {
  const removed: string[] = [];
  await walk(tree, async (dir, names) => {
    const present = new Set(names);
    for (const name of names) {
      const cmd = `.${name}.cmd`;
      if (!present.has(cmd)) continue;
      const [target, record] = await Promise.all([lstat(join(dir, name)), lstat(join(dir, cmd))]);
      if (!target.isFile() || target.mtimeMs <= record.mtimeMs) continue;
      await rm(join(dir, name), { force: true });
      removed.push(join(dir, name).slice(tree.length + 1));
    }
  });
  return removed;
}
