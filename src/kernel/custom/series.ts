/**
 * The kernel source series: what a custom kernel changes in Debian's source
 * before Kconfig runs. Two kinds of layers, applied in order: unified diffs
 * (the kernel_patches= option, a profile, or a module's kernel_patches:) and
 * a module's out-of-tree Kbuild folder (kernel_sources:), built into the
 * kernel. Each layer is identified by its content hash; the series id goes
 * into the kernel's cache keys. A patch may carry `Tailor-Kconfig:` lines in
 * its preamble (before the first diff) that set the symbols it adds.
 */
import { targetArch } from '../../config/arch.ts';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import type { BuildConfig } from '../../config/types.ts';
import { describeSource } from '../../config/index.ts';
import { UsageError } from '../../errors.ts';
import { repoRoot } from '../../util/paths.ts';
import { sha256 } from './cache.ts';

/** Built-in patches: conf/kernel-patches/NAME.patch, named by NAME in kernel_patches=. */
export const builtinPatchDir = join(repoRoot, 'conf', 'kernel-patches');

/** What a module asks of the kernel source (module.yaml kernel_patches: and kernel_sources:). */
export interface SourceRequest {
  readonly kind: 'patch' | 'kbuild';
  /** Absolute path of the .patch file or the Kbuild folder. */
  readonly path: string;
  /** Who asked, e.g. "module example-driver". */
  readonly who: string;
}

export interface SourceLayer {
  readonly kind: 'patch' | 'kbuild';
  /** Patch file name, or the folder name under tailor/ in the patched source (the module's name). */
  readonly name: string;
  readonly path: string;
  /** Content hash: the patch's bytes, or every file of the folder with its relative path. */
  readonly sha256: string;
  readonly reasons: readonly string[];
  /** Symbols the patch's Tailor-Kconfig: lines set (none for a Kbuild folder). */
  readonly kconfig: Readonly<Record<string, string>>;
  /** Asked for only by a configuration profile: it yields to a need it contradicts (fragment.ts). */
  readonly fromProfile?: boolean;
}

/** The modules' requests, in module order (dependencies first). */
export function moduleSourceRequests(modules: readonly { name: string; kernelPatches: readonly string[]; kernelSources?: string | undefined }[]): SourceRequest[] {
  return modules.flatMap((m) => [
    ...m.kernelPatches.map((path) => ({ kind: 'patch' as const, path, who: `module ${m.name}` })),
    ...(m.kernelSources ? [{ kind: 'kbuild' as const, path: m.kernelSources, who: `module ${m.name}` }] : []),
  ]);
}

/** A kernel_patches= value: a built-in name, else a path to a .patch file. */
export function resolvePatchName(value: string, cwd = process.cwd()): string {
  const builtin = join(builtinPatchDir, `${value}.patch`);
  if (!value.includes('/') && existsSync(builtin)) return builtin;
  return resolve(cwd, value);
}

export function builtinPatchNames(): string[] {
  return existsSync(builtinPatchDir) ? readdirSync(builtinPatchDir).filter((f) => f.endsWith('.patch')).map((f) => f.slice(0, -'.patch'.length)).sort() : [];
}

/** `Tailor-Kconfig: CONFIG_X=y` lines before the first file header of a patch. */
export function patchKconfig(text: string, patchName: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (/^(diff |--- |Index: )/.test(line)) break;
    const m = /^Tailor-Kconfig:\s*(.*)$/.exec(line);
    if (!m) continue;
    const set = /^CONFIG_([A-Za-z0-9_]+)=(\S+)$/.exec(m[1]!.trim());
    if (!set) throw new UsageError(`kernel patch ${patchName}: cannot read "${line}"`, 'write it as Tailor-Kconfig: CONFIG_SYMBOL=value (y, n, a number or a "string")');
    out[set[1]!] = set[2]!;
  }
  return out;
}

/** Every file under `dir` (relative paths, sorted). */
function filesUnder(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesUnder(dir, path));
    else if (e.isFile()) out.push(path);
  }
  return out;
}

export function kbuildFolderFiles(dir: string): string[] {
  return filesUnder(dir);
}

function patchLayer(path: string, reason: string, fix: string): SourceLayer {
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`kernel patch ${path} (${reason}) does not exist`, fix);
  const text = readFileSync(path, 'utf8');
  if (!/^--- /m.test(text) || !/^\+\+\+ /m.test(text) || !/^@@ /m.test(text)) {
    throw new UsageError(`kernel patch ${path} (${reason}) is not a unified diff (no ---/+++ file headers with @@ hunks)`, 'make it with diff -u or git diff (paths relative to the kernel source top, a/ b/ prefixes)');
  }
  const name = basename(path);
  return { kind: 'patch', name, path, sha256: sha256(text), reasons: [reason], kconfig: patchKconfig(text, name) };
}

function kbuildLayer(dir: string, who: string): SourceLayer {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`kernel_sources of ${who}: folder ${dir} does not exist`, 'point kernel_sources: at a folder (relative to the module) holding a Kbuild file and its C sources');
  if (!existsSync(join(dir, 'Kbuild')) && !existsSync(join(dir, 'Makefile'))) {
    throw new UsageError(`kernel_sources of ${who}: ${dir} has no Kbuild (or Makefile) file`, 'add a Kbuild file listing the objects, e.g. obj-y += mydriver.o');
  }
  const files = filesUnder(dir);
  const hash = sha256(...files.flatMap((f) => [f, readFileSync(join(dir, f), 'latin1')]));
  const name = who.replace(/^module /, '').replace(/[^A-Za-z0-9_-]/g, '_');
  return { kind: 'kbuild', name, path: dir, sha256: hash, reasons: [`kernel_sources of ${who}`], kconfig: {} };
}

/**
 * The ordered series for `config` (kernel_patches=, from the command line or
 * a profile, first) and the modules' requests. The same patch asked twice is
 * applied once, with both reasons.
 */
export function composeSeries(config: BuildConfig, requests: readonly SourceRequest[], notes: string[] = []): SourceLayer[] {
  const layers: SourceLayer[] = [];
  const add = (layer: SourceLayer): void => {
    const i = layers.findIndex((l) => l.kind === layer.kind && l.sha256 === layer.sha256);
    const same = layers[i];
    if (!same) layers.push({ ...layer, reasons: [...layer.reasons] });
    // asked for twice: still the profile's alone only when both requests were
    else layers[i] = { ...same, reasons: [...same.reasons, ...layer.reasons.filter((r) => !same.reasons.includes(r))], fromProfile: same.fromProfile === true && layer.fromProfile === true };
  };
  const values = (config.options.kernel_patches ?? []) as readonly string[];
  const source = config.sources.kernel_patches;
  const fromProfile = source?.kind === 'profile' || source?.kind === 'project-profile';
  const srcArch = targetArch(config.options.arch).kernel.srcArch;
  for (const value of values) {
    const path = resolvePatchName(value);
    const foreign = otherArchOf(path, srcArch);
    if (foreign) {
      // A profile's patch for another architecture (compact-layout is x86-64's) does not apply here; one asked for by name is an error.
      const why = `kernel_patches=${value} changes only arch/${foreign}/ files, and arch=${String(config.options.arch)} builds arch/${srcArch}/`;
      if (fromProfile) {
        notes.push(`${why}: left out (it came from ${describeSource(source)})`);
        continue;
      }
      throw new UsageError(why, `remove kernel_patches=${value}, or build for its architecture`);
    }
    const builtins = builtinPatchNames();
    const layer = patchLayer(path, `kernel_patches=${value}${source ? ` (${describeSource(source)})` : ''}`,
      `give a path to a .patch file${builtins.length ? ` or a built-in patch name (${builtins.join(', ')})` : ''}`);
    add({ ...layer, fromProfile });
  }
  for (const r of requests) {
    if (r.kind === 'patch') add(patchLayer(r.path, `kernel_patches of ${r.who}`, `fix kernel_patches: in the module.yaml of ${r.who} (paths are relative to the module folder)`));
    else add(kbuildLayer(r.path, r.who));
  }
  return layers;
}

/** The arch/ folder every file of a patch lies under, when that is not `srcArch`'s (an other architecture's patch). */
function otherArchOf(path: string, srcArch: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined; // patchLayer names the missing file
  }
  const dirs = new Set(patchedFiles(text).map((f) => /^arch\/([^/]+)\//.exec(f)?.[1] ?? ''));
  const only = dirs.size === 1 ? [...dirs][0] : undefined;
  return only && only !== srcArch ? only : undefined;
}

/** The series' identity for cache keys and the patched source's folder name; '' when there is nothing to apply. */
export function seriesId(layers: readonly SourceLayer[]): string {
  return layers.length ? sha256(...layers.map((l) => `${l.kind}:${l.name}:${l.sha256}`)).slice(0, 16) : '';
}

/** Files a unified diff changes or creates (paths after the a/ b/ prefix). */
export function patchedFiles(text: string): string[] {
  const out = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.startsWith('--- ') || !lines[i + 1]!.startsWith('+++ ')) continue;
    for (const header of [lines[i]!, lines[i + 1]!]) {
      const path = header.slice(4).split('\t')[0]!.trim();
      if (path === '/dev/null') continue;
      out.add(path.replace(/^[^/]+\//, ''));
    }
  }
  return [...out];
}

/** Every source file (relative to the source top) the series changes or adds. */
export function seriesFiles(layers: readonly SourceLayer[]): string[] {
  const out = new Set<string>();
  for (const l of layers) {
    if (l.kind === 'patch') for (const f of patchedFiles(readFileSync(l.path, 'utf8'))) out.add(f);
    else for (const f of ['Kbuild', 'tailor/Kbuild', ...kbuildFolderFiles(l.path).map((f) => `tailor/${l.name}/${f}`)]) out.add(f);
  }
  return [...out].sort();
}

/** One line per layer, for `tailor kernel config` and build logs. */
export function describeSeries(layers: readonly SourceLayer[]): string[] {
  return layers.map((l, i) => `${i + 1}. ${l.kind === 'patch' ? `patch ${l.name}` : `Kbuild folder ${relative(process.cwd(), l.path) || l.path} -> tailor/${l.name}/`} (sha256 ${l.sha256.slice(0, 12)})  # ${l.reasons.join('; ')}`);
}
