/**
 * The custom-kernel cache: cacheDir('kernels', <key>) holds one built
 * kernel (bzImage, vmlinux, .config, System.map, build.log, meta.json).
 * key = sha256(linux-source version + final .config + compiler version +
 * make variables). A folder is complete when it exists: it is assembled in a
 * temp sibling and renamed. cacheDir('kernels', 'by-fragment', <hash>) maps
 * a fragment to its key so a cache hit needs no Kconfig run at all.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir } from '../../util/paths.ts';
import { writeFileAtomic } from '../../util/atomic.ts';

export const kernelsDir = (): string => cacheDir('kernels');
export const kernelDir = (key: string): string => cacheDir('kernels', key);
export const buildTreeDir = (fragmentHash: string): string => cacheDir('kbuild', fragmentHash);
const fragmentMapFile = (fragmentHash: string): string => cacheDir('kernels', 'by-fragment', fragmentHash);

/** Bump when the way a fragment becomes a kernel changes (base config, build steps). */
export const recipeVersion = 'tinyconfig-merge-olddefconfig-v1';

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

/**
 * Remove cached kernels: all of them, or all but the `keep` newest. Their
 * build trees and fragment mappings go too. Returns the removed metas.
 */
export async function pruneKernels(keep: number): Promise<KernelMeta[]> {
  const all = await listKernels();
  const doomed = all.slice(keep);
  for (const m of doomed) {
    await rm(kernelDir(m.key), { recursive: true, force: true });
    await rm(buildTreeDir(m.fragmentHash), { recursive: true, force: true });
    await rm(fragmentMapFile(m.fragmentHash), { force: true });
  }
  // Build trees of kernels that never finished (killed builds) hold no kernel: drop them with --all.
  if (keep === 0 && existsSync(cacheDir('kbuild'))) await rm(cacheDir('kbuild'), { recursive: true, force: true });
  await removeLeftovers();
  return doomed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Temp folders and lock files of builds whose process is gone (killed builds). */
async function removeLeftovers(): Promise<void> {
  if (!existsSync(kernelsDir())) return;
  for (const name of await readdir(kernelsDir())) {
    const tmp = /^\.tmp-[0-9a-f]+-(\d+)$/.exec(name);
    if (tmp && !processAlive(Number(tmp[1]))) await rm(join(kernelsDir(), name), { recursive: true, force: true });
    if (name.startsWith('.lock-')) {
      const pid = Number.parseInt(await readFile(join(kernelsDir(), name), 'utf8').catch(() => ''), 10);
      if (!Number.isInteger(pid) || !processAlive(pid)) await rm(join(kernelsDir(), name), { force: true });
    }
  }
}

export async function dirSize(path: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    total += e.isDirectory() ? await dirSize(p) : (await stat(p)).size;
  }
  return total;
}
