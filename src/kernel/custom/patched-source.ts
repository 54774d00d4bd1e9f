/**
 * A patched copy of the kernel source, one per distinct series:
 * cacheDir('src-patched', <version>-<series id>). The copy is hard links to
 * the shared unpacked source (a few seconds, no extra bytes); every file a
 * layer changes is first replaced by a private copy, so the shared source is
 * never written. Unchanged files keep their mtimes, which lets a build tree
 * of the unpatched source seed a patched build (tree.ts): make recompiles
 * only what the patches touch. Built in a temp sibling and renamed: a patch
 * that fails to apply leaves nothing behind.
 */
import { existsSync } from 'node:fs';
import { appendFile, copyFile, cp, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TailorError, UsageError } from '../../errors.ts';
import { exec } from '../../util/exec.ts';
import { cacheDir } from '../../util/paths.ts';
import { processAlive } from '../../util/process-alive.ts';
import { ensureSource, type KernelSource } from './source.ts';
import { kbuildFolderFiles, patchedFiles, seriesId, type SourceLayer } from './series.ts';

/** Written last into a complete patched copy. */
const COMPLETE = '.tailor-series';

/** A patch that does not apply: names the patch, the file and the hunk. */
export class PatchApplyError extends UsageError {
  constructor(readonly patch: string, readonly file: string, readonly hunk: string, detail: string, reasons: readonly string[]) {
    super(
      `kernel patch ${patch} (${reasons.join('; ')}) does not apply to the kernel source: file ${file}, ${hunk}\n${detail}`,
      'rebase the patch on Debian\'s linux-source of this version (tailor kernel config shows the series and its order), or drop it',
    );
  }
}

/**
 * The first failure in GNU patch's output: the file it was patching and the
 * hunk (or why the file could not be patched).
 */
export function firstFailure(output: string): { file: string; hunk: string } | undefined {
  let file = '?';
  for (const line of output.split('\n')) {
    const patching = /^(?:checking|patching) file '?([^']+?)'?$/.exec(line);
    if (patching) file = patching[1]!;
    const hunk = /^Hunk #(\d+) FAILED at (\d+)/.exec(line);
    if (hunk) return { file, hunk: `hunk #${hunk[1]} (at line ${hunk[2]})` };
    const missing = /^can't find file to patch at input line (\d+)/.exec(line);
    if (missing) return { file: missing[1] ? `(named near line ${missing[1]} of the patch)` : file, hunk: 'the file does not exist in this kernel source' };
    const reversed = /^Reversed \(or previously applied\) patch detected/.exec(line);
    if (reversed) return { file, hunk: 'the change is already there (reversed or previously applied patch)' };
    if (/^patch: \*\*\*\* /.test(line)) return { file, hunk: line.replace(/^patch: \*\*\*\* /, '') };
  }
  return undefined;
}

/** Replace a hard link by a private copy, so writing it leaves the shared source alone. */
async function unshare(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const tmp = `${path}.tailor-unshare`;
  await copyFile(path, tmp);
  await rename(tmp, path);
}

/** GNU patch on `tree` (a dry run writes nothing); a failure is a PatchApplyError. */
async function runPatch(tree: string, layer: SourceLayer, dryRun: boolean): Promise<void> {
  const args = ['-p1', '--batch', '--forward', '--no-backup-if-mismatch', '--reject-file=-', '-d', tree, '-i', layer.path];
  const r = await exec('patch', dryRun ? ['--dry-run', ...args] : args, { allowFailure: true });
  if (r.code === 0) return;
  const output = `${r.stdout}\n${r.stderr}`;
  const failure = firstFailure(output) ?? { file: '?', hunk: 'see the output below' };
  const detail = output.trim().split('\n').slice(0, 12).map((l) => `  | ${l}`).join('\n');
  throw new PatchApplyError(layer.name, failure.file, failure.hunk, detail, layer.reasons);
}

async function applyPatch(tree: string, layer: SourceLayer): Promise<void> {
  for (const f of patchedFiles(await readFile(layer.path, 'utf8'))) await unshare(join(tree, f));
  // A dry run first: a failing patch leaves no file of it half applied (the whole copy is dropped anyway).
  await runPatch(tree, layer, true);
  await runPatch(tree, layer, false);
}

/**
 * Before copying the source: dry-run every patch whose files no earlier
 * layer touches against the shared source itself (it reads only), so a
 * patch that cannot apply fails in a second, not after a copy.
 */
async function precheck(sourceDir: string, layers: readonly SourceLayer[]): Promise<void> {
  const touched = new Set<string>();
  for (const layer of layers) {
    const files = layer.kind === 'patch' ? patchedFiles(await readFile(layer.path, 'utf8')) : kbuildFolderFiles(layer.path).map((f) => `tailor/${layer.name}/${f}`);
    if (layer.kind === 'patch' && !files.some((f) => touched.has(f))) await runPatch(sourceDir, layer, true);
    for (const f of files) touched.add(f);
  }
}

/** Copy a module's Kbuild folder to tailor/<name>/ (fresh files, never links). */
async function addKbuildFolder(tree: string, layer: SourceLayer): Promise<void> {
  for (const f of kbuildFolderFiles(layer.path)) {
    const dest = join(tree, 'tailor', layer.name, f);
    await mkdir(dirname(dest), { recursive: true });
    await cp(join(layer.path, f), dest);
  }
}

/** tailor/Kbuild descends into each folder; the top Kbuild descends into tailor/. */
async function hookKbuildFolders(tree: string, names: readonly string[]): Promise<void> {
  await writeFile(join(tree, 'tailor', 'Kbuild'), `# Out-of-tree code from Tailor modules, built into the kernel.\n${names.map((n) => `obj-y += ${n}/\n`).join('')}`);
  await unshare(join(tree, 'Kbuild'));
  await appendFile(join(tree, 'Kbuild'), '\n# Tailor modules\' kernel_sources\nobj-y\t\t\t+= tailor/\n');
}

export function patchedSourceDir(version: string, layers: readonly SourceLayer[]): string {
  return cacheDir('src-patched', `${version}-${seriesId(layers)}`);
}

/** The source a fragment configures and builds against: Debian's, or its series' patched copy. */
export async function fragmentSource(fragment: { readonly series?: readonly SourceLayer[] }, log: (line: string) => void = () => {}): Promise<KernelSource> {
  return ensurePatchedSource(await ensureSource(log), fragment.series ?? [], log);
}

/**
 * The source for this series: the shared source itself when the series is
 * empty, else its patched copy (made now when missing).
 */
export async function ensurePatchedSource(source: KernelSource, layers: readonly SourceLayer[], log: (line: string) => void): Promise<KernelSource> {
  if (!layers.length) return source;
  const dir = patchedSourceDir(source.version, layers);
  if (existsSync(join(dir, COMPLETE))) return { version: source.version, dir };
  await precheck(source.dir, layers);
  await mkdir(cacheDir('src-patched'), { recursive: true });
  await removeDeadCopies();
  log(`kernel: applying ${layers.length} source layer${layers.length === 1 ? '' : 's'} to a copy of the source (${dir})`);
  const tmp = await mkdtemp(join(cacheDir('src-patched'), `.tmp-${process.pid}-`));
  try {
    const tree = join(tmp, 'tree');
    const r = await exec('cp', ['-al', source.dir, tree], { allowFailure: true });
    if (r.code !== 0) {
      // Another filesystem (no hard links across it): a real copy, which keeps mtimes too.
      await rm(tree, { recursive: true, force: true });
      await exec('cp', ['-a', source.dir, tree]);
    }
    for (const layer of layers) {
      if (layer.kind === 'patch') await applyPatch(tree, layer);
      else await addKbuildFolder(tree, layer);
    }
    const kbuild = layers.filter((l) => l.kind === 'kbuild').map((l) => l.name);
    if (kbuild.length) await hookKbuildFolders(tree, kbuild);
    await writeFile(join(tree, COMPLETE), layers.map((l) => `${l.kind} ${l.name} ${l.sha256}\n`).join(''));
    await rename(tree, dir).catch(async (e: NodeJS.ErrnoException) => {
      if (!existsSync(join(dir, COMPLETE))) throw new TailorError(`cannot move the patched source into ${dir}: ${e.message}`, { hint: `remove ${dir} and build again` });
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { version: source.version, dir };
}

/** Temp copies of processes that died while copying or patching (.tmp-<pid>-*). */
async function removeDeadCopies(): Promise<void> {
  for (const name of await readdir(cacheDir('src-patched')).catch(() => [] as string[])) {
    const m = /^\.tmp-(\d+)-/.exec(name);
    if (m && !processAlive(Number(m[1]))) await rm(join(cacheDir('src-patched'), name), { recursive: true, force: true });
  }
}

/**
 * Remove patched copies no build tree reads (each tree's `source` link names
 * its source folder) and that were made more than `minAgeMs` ago (a build
 * that just made one has no tree yet). Returns the removed folders.
 */
export async function prunePatchedSources(treesDir: string, minAgeMs = 60 * 60 * 1000): Promise<string[]> {
  const root = cacheDir('src-patched');
  if (!existsSync(root)) return [];
  await removeDeadCopies();
  const used = new Set<string>();
  for (const tree of await readdir(treesDir).catch(() => [] as string[])) {
    const target = await readlink(join(treesDir, tree, 'source')).catch(() => undefined);
    if (target) used.add(target.replace(/\/+$/, ''));
  }
  const removed: string[] = [];
  for (const name of await readdir(root)) {
    const dir = join(root, name);
    if (name.startsWith('.') || used.has(dir)) continue;
    const made = await stat(join(dir, COMPLETE)).then((s) => s.mtimeMs, () => 0);
    if (Date.now() - made < minAgeMs) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
