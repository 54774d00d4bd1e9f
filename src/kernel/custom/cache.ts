/**
 * The custom-kernel cache: cacheDir('kernels', <key>) holds one built
 * kernel (bzImage, vmlinux, .config, System.map, build.log, meta.json); it is
 * self-contained, so removing build trees (cacheDir('kbuild'), tree.ts) never
 * breaks it. key = sha256(linux-source version + final .config + compiler
 * version + make variables). A folder is complete when it exists: it is
 * assembled in a temp sibling and renamed. cacheDir('kernels', 'by-fragment',
 * <hash>) maps a fragment to its key so a cache hit needs no Kconfig run.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TargetArch } from '../../config/arch.ts';
import { cacheDir } from '../../util/paths.ts';
import { writeFileAtomic } from '../../util/atomic.ts';
import { exec } from '../../util/exec.ts';
import { lockHolders } from './lock.ts';
import { processAlive } from '../../util/process-alive.ts';
import { markFinished, readFinished, treeDir, treesDir } from './tree.ts';

export const kernelsDir = (): string => cacheDir('kernels');
export const kernelDir = (key: string): string => cacheDir('kernels', key);
export const buildTreeDir = treeDir;
export const lockFile = (fragmentHash: string): string => cacheDir('kernels', `.lock-${fragmentHash}`);
const fragmentMapFile = (fragmentHash: string): string => cacheDir('kernels', 'by-fragment', fragmentHash);

/** Bump when the way a fragment becomes a kernel changes (base config, build steps). */
export const recipeVersion = 'tinyconfig-merge-olddefconfig-v1';

/** The archives of a build tree whose objects define vmlinux's symbols (`nm -A` tells which object defines each). */
export function symbolArchives(arch: TargetArch): string[] {
  return ['vmlinux.a', 'lib/lib.a', `arch/${arch.kernel.srcArch}/lib/lib.a`];
}

export interface KernelMeta {
  readonly key: string;
  readonly fragmentHash: string;
  readonly release: string;
  readonly sourceVersion: string;
  readonly compiler: string;
  readonly makeVars: Readonly<Record<string, string>>;
  /** One line: profile, drivers, fs and the options that shaped the kernel. */
  readonly summary: string;
  readonly createdAt: string;
  readonly buildSeconds: number;
  /** Objects compiled (CC/AS lines of the make log): the progress bar's denominator next time. */
  readonly objects: number;
  readonly sizes: { readonly bzImage: number; readonly vmlinux: number };
  readonly hasPvh: boolean;
  /** The finished build tree this kernel's tree was copied from (an incremental variant); absent for a cold build. */
  readonly base?: { readonly key: string; readonly fragmentHash: string; readonly differing: number };
  /** The build continued the tree of an earlier, killed build of the same fragment. */
  readonly resumed?: boolean;
  /** Patches and Kbuild folders applied to the source, in order (absent: Debian's source as is). */
  readonly series?: readonly { readonly kind: 'patch' | 'kbuild'; readonly name: string; readonly sha256: string; readonly reasons: readonly string[] }[];
}

export function sha256(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

export function fragmentHash(sourceVersion: string, fragmentText: string, compiler: string, makeVars: Readonly<Record<string, string>>): string {
  return sha256(recipeVersion, sourceVersion, fragmentText, compiler, JSON.stringify(makeVars)).slice(0, 32);
}

export function kernelKey(sourceVersion: string, finalConfig: string, compiler: string, makeVars: Readonly<Record<string, string>>): string {
  return sha256(sourceVersion, finalConfig, compiler, JSON.stringify(makeVars)).slice(0, 32);
}

export async function readMeta(key: string): Promise<KernelMeta | undefined> {
  try {
    return JSON.parse(await readFile(join(kernelDir(key), 'meta.json'), 'utf8')) as KernelMeta;
  } catch {
    return undefined;
  }
}

/** The cached kernel a fragment hash led to before, if it is still complete. */
export async function lookupFragment(hash: string): Promise<KernelMeta | undefined> {
  const key = (await readFile(fragmentMapFile(hash), 'utf8').catch(() => '')).trim();
  if (!/^[0-9a-f]{32}$/.test(key)) return undefined;
  return readMeta(key);
}

export async function rememberFragment(hash: string, key: string): Promise<void> {
  await writeFileAtomic(fragmentMapFile(hash), `${key}\n`);
}

/** Every complete cached kernel, newest first. */
export async function listKernels(): Promise<KernelMeta[]> {
  if (!existsSync(kernelsDir())) return [];
  const out: KernelMeta[] = [];
  for (const name of await readdir(kernelsDir())) {
    if (!/^[0-9a-f]{32}$/.test(name)) continue; // temp folders, locks, by-fragment
    const meta = await readMeta(name);
    if (meta) out.push(meta);
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** Objects the previous builds compiled (largest), to size the progress bar; undefined before the first build. */
export async function expectedObjects(): Promise<number | undefined> {
  const all = await listKernels();
  return all.length ? Math.max(...all.map((m) => m.objects)) : undefined;
}

/** Bytes on disk (allocated blocks: the stripped vmlinux is sparse) of each path; 0 when absent. */
export async function diskUsage(paths: readonly string[]): Promise<Map<string, number>> {
  const present = paths.filter((p) => existsSync(p));
  const out = new Map<string, number>(paths.map((p) => [p, 0]));
  if (!present.length) return out;
  // -l: count hard-linked files in every path (each folder is measured on its own).
  const r = await exec('du', ['-s', '-l', '-B1', ...present], { allowFailure: true });
  for (const line of r.stdout.split('\n')) {
    const m = /^(\d+)\t(.*)$/.exec(line);
    if (m) out.set(m[2]!, Number(m[1]));
  }
  return out;
}

export interface CacheEntry {
  readonly meta: KernelMeta;
  /** The kernel folder (small, self-contained). */
  readonly kernelBytes: number;
  /** Its build tree (large; a base for variants), 0 when pruned. */
  readonly treeBytes: number;
}

export interface TreeEntry {
  readonly fragmentHash: string;
  readonly bytes: number;
  /** Finished trees seed variants; an unfinished one is a killed build's (or one running now). */
  readonly finished: boolean;
  readonly finishedAt?: string;
  /** The kernel a finished tree built. */
  readonly key?: string;
  /** A live build holds its lock. */
  readonly busy: boolean;
}

export interface CacheUsage {
  readonly kernels: readonly CacheEntry[];
  /** Every build tree, whether or not its kernel is still cached. */
  readonly trees: readonly TreeEntry[];
}

async function busy(fragmentHash: string): Promise<boolean> {
  return (await lockHolders(lockFile(fragmentHash))).some(processAlive);
}

/** Kernels (newest first) and build trees with their sizes on disk. */
export async function cacheUsage(): Promise<CacheUsage> {
  const metas = await listKernels();
  const hashes = existsSync(treesDir()) ? (await readdir(treesDir())).filter((n) => /^[0-9a-f]{32}$/.test(n)) : [];
  const sizes = await diskUsage([...metas.map((m) => kernelDir(m.key)), ...hashes.map(treeDir)]);
  const trees: TreeEntry[] = [];
  for (const h of hashes) {
    const info = await readFinished(treeDir(h));
    trees.push({ fragmentHash: h, bytes: sizes.get(treeDir(h)) ?? 0, finished: info !== undefined, ...(info ? { finishedAt: info.finishedAt, key: info.key } : {}), busy: await busy(h) });
  }
  return {
    kernels: metas.map((meta) => ({ meta, kernelBytes: sizes.get(kernelDir(meta.key)) ?? 0, treeBytes: sizes.get(treeDir(meta.fragmentHash)) ?? 0 })),
    trees,
  };
}

export interface PruneOptions {
  /** Keep the N newest kernels (and their trees). */
  readonly keep?: number;
  /** Remove build trees, oldest first, then kernels, oldest first, until kernels and trees fit. */
  readonly maxBytes?: number;
}

export interface PruneResult {
  readonly kernels: readonly KernelMeta[];
  /** Fragment hashes of the removed build trees. */
  readonly trees: readonly string[];
  readonly freedBytes: number;
  /** Kernels and trees left, in bytes. */
  readonly leftBytes: number;
}

/**
 * Bound the cache. Build trees of killed builds go first (a live build's
 * tree is never touched), then what `keep` and `maxBytes` ask for. Trees go
 * before kernels: a kernel folder needs no tree.
 */
export async function pruneKernels(options: PruneOptions): Promise<PruneResult> {
  await removeLeftovers();
  const usage = await cacheUsage();
  const removedKernels: KernelMeta[] = [];
  const removedTrees = new Set<string>();
  let freed = 0;
  const dropTree = async (t: TreeEntry): Promise<void> => {
    if (t.busy || removedTrees.has(t.fragmentHash)) return;
    await rm(treeDir(t.fragmentHash), { recursive: true, force: true });
    removedTrees.add(t.fragmentHash);
    freed += t.bytes;
  };
  const dropKernel = async (e: CacheEntry): Promise<void> => {
    await rm(kernelDir(e.meta.key), { recursive: true, force: true });
    removedKernels.push(e.meta);
    freed += e.kernelBytes;
    for (const t of usage.trees) if (t.key === e.meta.key || t.fragmentHash === e.meta.fragmentHash) await dropTree(t);
  };

  for (const t of usage.trees) if (!t.finished) await dropTree(t);
  if (options.keep !== undefined) {
    for (const e of usage.kernels.slice(options.keep)) await dropKernel(e);
    const kept = new Set(usage.kernels.slice(0, options.keep).map((e) => e.meta.key));
    for (const t of usage.trees) if (!t.key || !kept.has(t.key)) await dropTree(t); // trees whose kernel was pruned before
  }
  if (options.maxBytes !== undefined) {
    const total = (): number =>
      usage.kernels.filter((e) => !removedKernels.includes(e.meta)).reduce((n, e) => n + e.kernelBytes, 0) +
      usage.trees.filter((t) => !removedTrees.has(t.fragmentHash)).reduce((n, t) => n + t.bytes, 0);
    const oldestTrees = usage.trees.filter((t) => !t.busy).sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? ''));
    for (const t of oldestTrees) if (total() > options.maxBytes) await dropTree(t);
    for (const e of [...usage.kernels].reverse()) if (total() > options.maxBytes && !removedKernels.includes(e.meta)) await dropKernel(e);
  }
  await forgetMissingFragments();
  const left = usage.kernels.filter((e) => !removedKernels.includes(e.meta)).reduce((n, e) => n + e.kernelBytes, 0) +
    usage.trees.filter((t) => !removedTrees.has(t.fragmentHash)).reduce((n, t) => n + t.bytes, 0);
  return { kernels: removedKernels, trees: [...removedTrees], freedBytes: freed, leftBytes: left };
}

/**
 * Trees built before trees carried a finished marker: one whose fragment led
 * to a complete cached kernel with the same .config, and that no live build
 * holds, finished (its kernel folder was written only after make succeeded,
 * and nothing rebuilds a fragment whose kernel is cached). Mark it.
 */
export async function adoptFinishedTrees(): Promise<void> {
  if (!existsSync(treesDir())) return;
  for (const name of await readdir(treesDir())) {
    if (!/^[0-9a-f]{32}$/.test(name) || (await readFinished(treeDir(name))) || (await busy(name))) continue;
    const meta = await lookupFragment(name);
    if (!meta || !existsSync(join(kernelDir(meta.key), 'bzImage'))) continue;
    const [built, tree] = await Promise.all([readFile(join(kernelDir(meta.key), 'config'), 'utf8').catch(() => ''), readFile(join(treeDir(name), '.config'), 'utf8').catch(() => undefined)]);
    if (built !== tree || !existsSync(join(treeDir(name), 'vmlinux'))) continue;
    await markFinished(treeDir(name), { key: meta.key, fragmentHash: name, sourceVersion: meta.sourceVersion, compiler: meta.compiler, makeVars: meta.makeVars });
  }
}

/** by-fragment entries whose kernel is gone. */
async function forgetMissingFragments(): Promise<void> {
  const dir = cacheDir('kernels', 'by-fragment');
  if (!existsSync(dir)) return;
  for (const name of await readdir(dir)) {
    const key = (await readFile(join(dir, name), 'utf8').catch(() => '')).trim();
    if (!existsSync(join(kernelDir(key), 'meta.json'))) await rm(join(dir, name), { force: true });
  }
}

/**
 * Litter of killed builds: kernel temp folders, seed copies and lock files
 * whose process is gone. Run before every build and every prune.
 */
export async function removeLeftovers(): Promise<void> {
  for (const [dir, pattern] of [[kernelsDir(), /^\.tmp-[0-9a-f]+-(\d+)$/], [treesDir(), /^[0-9a-f]{32}\.seed-(\d+)$/]] as const) {
    if (!existsSync(dir)) continue;
    for (const name of await readdir(dir)) {
      const m = pattern.exec(name);
      if (m && !processAlive(Number(m[1]))) await rm(join(dir, name), { recursive: true, force: true });
    }
  }
  if (!existsSync(kernelsDir())) return;
  for (const name of await readdir(kernelsDir())) {
    if (!name.startsWith('.lock-')) continue;
    const holders = await lockHolders(join(kernelsDir(), name));
    if (holders.length && !holders.some(processAlive)) await rm(join(kernelsDir(), name), { force: true });
  }
}
