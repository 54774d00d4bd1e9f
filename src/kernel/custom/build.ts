/**
 * Build a custom kernel, or reuse the cached one. The hit path (fragment
 * hash → key → complete cache folder) runs no make at all.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { BuildConfig } from '../../config/types.ts';
import { MissingToolError, TailorError, UsageError } from '../../errors.ts';
import { targetArch, targetArches } from '../../config/arch.ts';
import { exec, hasCommand } from '../../util/exec.ts';
import { cacheDir } from '../../util/paths.ts';
import { hasPvhNote } from '../../elf/index.ts';
import {
  adoptFinishedTrees, expectedObjects, fragmentHash, kernelDir, kernelKey, kernelsDir, lockFile, lookupFragment, readMeta, rememberFragment, removeLeftovers, symbolArchives, type KernelMeta,
} from './cache.ts';
import { configureKernel, makeArgs } from './configure.ts';
import { composeFragment, fragmentText, type Fragment } from './fragment.ts';
import { acquireLock } from './lock.ts';
import { createProgress } from './progress.ts';
import { ensureSource, sourceVersion } from './source.ts';
import { ensurePatchedSource } from './patched-source.ts';
import { seriesFiles, seriesId, type SourceRequest } from './series.ts';
import { parseDotConfig } from './kconfig.ts';
import { hasBuilt, markFinished, markStarted, markUnfinished, nearestTree, readFinished, repairTree, seedTree, treeDir, type BaseTree } from './tree.ts';

export interface BuiltKernel {
  readonly dir: string;
  readonly meta: KernelMeta;
  /** True when nothing was compiled (cache hit). */
  readonly cached: boolean;
  readonly fragment: Fragment;
}

export interface BuildOptions {
  /** Progress and status lines (default: stderr). */
  readonly log?: (line: string) => void;
  readonly progressStream?: NodeJS.WriteStream;
  /** Who asked for each kernel need, for the fragment's reasons. */
  readonly needSources?: ReadonlyMap<string, readonly string[]>;
  /** Kernel patches and Kbuild folders the image's modules ask for. */
  readonly sourceRequests?: readonly SourceRequest[];
}

/** Files every complete cache folder has, besides its boot image (bzImage on x86-64, Image on arm64). */
const requiredFiles = ['vmlinux', 'config', 'System.map', 'build.log', 'meta.json'];
const bootImageNames = Object.values(targetArches).map((a) => a.kernel.imageName);

function complete(key: string): boolean {
  const dir = kernelDir(key);
  return requiredFiles.every((f) => existsSync(join(dir, f))) && bootImageNames.some((f) => existsSync(join(dir, f)));
}

/** The compiler identity that goes into the cache key (its first --version line); `cross`: CROSS_COMPILE prefix. */
export async function compilerVersion(llvm: boolean, cross = ''): Promise<string> {
  const cc = llvm ? 'clang' : `${cross}gcc`;
  if (llvm) {
    for (const [tool, pkg] of [['clang', 'clang'], ['ld.lld', 'lld'], ['llvm-ar', 'llvm']] as const) {
      if (!(await hasCommand(tool))) throw new MissingToolError(tool, 'clang lld llvm', `lto=1 builds the kernel with clang ThinLTO and needs ${tool} from Debian's ${pkg} package`);
    }
  } else if (cross && !(await hasCommand(cc))) {
    throw new MissingToolError(cc, crossPackageOf(cross), 'kernel=custom cross-compiles the kernel for the target architecture');
  } else if (!(await hasCommand('gcc'))) throw new MissingToolError('gcc', 'gcc bc bison flex libelf-dev libssl-dev', 'kernel=custom compiles the kernel');
  const r = await exec(cc, ['--version']);
  return r.stdout.split('\n')[0]!.trim();
}

/** The Debian package of a cross compiler prefix, from the architecture table. */
function crossPackageOf(cross: string): string {
  return Object.values(targetArches).find((a) => a.kernel.crossCompile === cross)?.kernel.crossPackage ?? `gcc-${cross.replace(/-$/, '')}`;
}

function summaryOf(config: BuildConfig): string {
  const o = config.options;
  const parts = [
    o.arch !== 'x64' ? `arch=${String(o.arch)}` : undefined,
    config.profileName ? `--profile=${config.profileName}` : undefined,
    `drivers=${String(o.conf_drivers_profile)}`,
    `fs=${String(o.fs)}`,
    `opt=${String(o.opt)}`,
    o.mode !== 'release' ? `mode=${String(o.mode)}` : undefined,
    o.conf_hide_symbols ? 'hide_symbols' : undefined,
    o.lto ? 'lto' : undefined,
  ];
  const switches = Object.entries(config.sources)
    .filter(([k, s]) => k.startsWith('conf_drivers_') && k !== 'conf_drivers_profile' && s.kind !== 'default' && s.kind !== 'derived')
    .map(([k]) => `${k}=${o[k] ? 1 : 0}`);
  return [...parts, ...switches].filter(Boolean).join(' ');
}

/** Run make, streaming its output into the log and the progress bar. */
async function runMake(args: string[], env: NodeJS.ProcessEnv, logPath: string, onLine: (l: string) => void, onSpawn: (pid: number) => Promise<void>): Promise<number> {
  const log = createWriteStream(logPath);
  const child = spawn('make', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) await onSpawn(child.pid);
  const feed = (s: NodeJS.ReadableStream) =>
    new Promise<void>((res) => {
      const rl = createInterface({ input: s });
      rl.on('line', (l) => {
        log.write(l + '\n');
        onLine(l);
      });
      rl.on('close', res);
    });
  const [code] = await Promise.all([
    new Promise<number>((res, rej) => {
      child.on('error', rej);
      child.on('close', (c, sig) => res(c ?? (sig ? 128 : 1)));
    }),
    feed(child.stdout!),
    feed(child.stderr!),
  ]);
  await new Promise<void>((res) => log.end(res));
  return code;
}

/** The custom kernel for `config` and the modules' kernel `needs`: from the cache, or built now. */
export async function buildCustomKernel(config: BuildConfig, needs: readonly string[], options: BuildOptions = {}): Promise<BuiltKernel> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const arch = targetArch(config.options.arch);
  const cross = arch.kernel.crossCompile;
  const fragment = composeFragment(config, needs, options.needSources, options.sourceRequests);
  const llvm = fragment.makeVars.LLVM === '1';
  if (llvm && cross) throw new UsageError(`lto=1 (clang ThinLTO) with arch=${arch.name}: Tailor cross-builds kernels with gcc only`, 'set lto=0');
  const [version, compiler] = await Promise.all([sourceVersion(), compilerVersion(llvm, cross)]);
  // A patched kernel is another source: the series joins the source version in both cache keys.
  const series = fragment.series ?? [];
  const sourceId = series.length ? `${version}+${seriesId(series)}` : version;
  const fhash = fragmentHash(sourceId, fragmentText(fragment), compiler, fragment.makeVars);

  const hit = async (): Promise<BuiltKernel | undefined> => {
    const meta = await lookupFragment(fhash);
    return meta && complete(meta.key) ? { dir: kernelDir(meta.key), meta, cached: true, fragment } : undefined;
  };
  const early = await hit();
  if (early) return early;

  await mkdir(kernelsDir(), { recursive: true });
  const lock = await acquireLock(lockFile(fhash), {
    onWait: (pid) => log(`kernel: another build of this kernel is running (pid ${pid}); waiting for it`),
  });
  try {
    const after = await hit(); // the build we waited for
    if (after) return after;

    await removeLeftovers(); // what killed builds left behind
    const unpatched = await ensureSource(log);
    const source = await ensurePatchedSource(unpatched, series, log);
    const changedFiles = seriesFiles(series);
    const buildDir = treeDir(fhash);
    await adoptFinishedTrees();
    // A tree make worked in that never finished: a killed build of this fragment, continued below.
    let resumed = hasBuilt(buildDir) && !(await readFinished(buildDir));
    // A tree make worked in holds this fragment's final .config already: running Kconfig there again
    // (tinyconfig first) would touch half of include/config/ and recompile what depends on it.
    const kept = hasBuilt(buildDir) ? await readFile(join(buildDir, '.config'), 'utf8').catch(() => undefined) : undefined;
    if (kept === undefined) resumed = false;
    const finalConfig = kept ?? (await configureKernel(source.dir, buildDir, fragment));
    const key = kernelKey(sourceId, finalConfig, compiler, fragment.makeVars);
    if (complete(key)) {
      // Another fragment already produced this exact .config.
      await rememberFragment(fhash, key);
      return { dir: kernelDir(key), meta: (await readMeta(key))!, cached: true, fragment };
    }
    let base: BaseTree | undefined;
    if (kept === undefined) {
      // A new configuration: start from the nearest finished tree, so make compiles only what the changed symbols touch.
      const nearest = await nearestTree({ sourceVersion: version, compiler, makeVars: fragment.makeVars, finalConfig, sourceFiles: changedFiles });
      if (nearest && (await seedTree(nearest, buildDir, finalConfig, { dir: source.dir, files: changedFiles, unpatchedDir: unpatched.dir }))) base = nearest;
    } else if (resumed) {
      const dropped = await repairTree(buildDir);
      log(`kernel: continuing the build tree of a killed build (${buildDir})${dropped.length ? `; ${dropped.length} half-written target(s) removed` : ''}`);
    }
    await markUnfinished(buildDir);
    await markStarted(buildDir);

    const useCcache = await hasCommand('ccache');
    const cc = `${useCcache ? 'ccache ' : ''}${llvm ? 'clang' : `${cross}gcc`}`;
    const env = {
      ...process.env,
      CCACHE_DIR: process.env.CCACHE_DIR ?? cacheDir('ccache'),
      // Reproducible: no build date, user or host in the kernel.
      KBUILD_BUILD_TIMESTAMP: 'Thu Jan  1 00:00:00 UTC 1970',
      KBUILD_BUILD_USER: 'tailor',
      KBUILD_BUILD_HOST: 'tailor',
      KBUILD_BUILD_VERSION: '1',
    };
    const jobs = availableParallelism();
    const logPath = join(buildDir, 'build.log');
    const from = base ? `, from the tree of ${base.info.key.slice(0, 12)} (${base.differing} symbol${base.differing === 1 ? '' : 's'} differ)` : '';
    log(`kernel: building ${key} (linux-source ${version}${series.length ? ` with ${series.length} source layer${series.length === 1 ? '' : 's'} (${series.map((l) => l.name).join(', ')})` : ''}, ${compiler}, -j${jobs}${useCcache ? ', ccache' : ''}${from}); log: ${logPath}`);
    const make = async (): Promise<{ code: number; objects: number }> => {
      const progress = createProgress('kernel', await expectedObjects(), options.progressStream);
      const code = await runMake([...makeArgs(source.dir, buildDir, fragment.makeVars), `CC=${cc}`, `-j${jobs}`, arch.kernel.imageTarget, 'vmlinux'], env, logPath, (l) => progress.line(l), (pid) => lock.addHolder(pid));
      progress.done();
      return { code, objects: progress.objects };
    };
    const started = Date.now();
    let { code, objects: compiled } = await make();
    if (code !== 0 && (base || resumed)) {
      // Kbuild is made to continue from any tree; should one still fail, a cold build settles whether the configuration itself does.
      const tail = (await readFile(logPath, 'utf8')).trimEnd().split('\n').slice(-5).map((l) => `  | ${l}`).join('\n');
      log(`kernel: the build from ${base ? 'a copied tree' : 'the killed build\'s tree'} failed (make exit ${code}):\n${tail}\nkernel: building from an empty tree`);
      await rm(buildDir, { recursive: true, force: true });
      base = undefined;
      resumed = false;
      await configureKernel(source.dir, buildDir, fragment);
      await markStarted(buildDir);
      ({ code, objects: compiled } = await make());
    }
    const buildSeconds = Math.round((Date.now() - started) / 100) / 10;
    if (code !== 0) {
      const tail = (await readFile(logPath, 'utf8')).trimEnd().split('\n').slice(-15).join('\n');
      throw new TailorError(`kernel build failed (make exit ${code}); full log: ${logPath}\n${tail}`, {
        hint: 'the log shows the first error above these lines; `tailor kernel config` shows the fragment that was built',
      });
    }

    // Assemble the cache folder beside its final name, then rename: complete or absent.
    const tmp = join(kernelsDir(), `.tmp-${key}-${process.pid}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    try {
      await copyFile(join(buildDir, arch.kernel.imagePath), join(tmp, arch.kernel.imageName));
      // Boot needs no symbol table: strip it (12 MB → a few MB); System.map and symbols.txt keep the names.
      await exec(`${cross}strip`, ['--strip-all', '-o', join(tmp, 'vmlinux'), join(buildDir, 'vmlinux')]);
      // The x86-64 layout pads sections to 2 MiB with zeros: punch them out so the file is sparse on disk.
      await exec('fallocate', ['--dig-holes', join(tmp, 'vmlinux')], { allowFailure: true });
      const sizes = await exec(`${cross}nm`, ['--size-sort', '-S', '--radix=d', join(buildDir, 'vmlinux')], { allowFailure: true });
      await writeFile(join(tmp, 'symbols.txt'), sizes.stdout);
      await copyFile(join(buildDir, '.config'), join(tmp, 'config'));
      await copyFile(join(buildDir, 'System.map'), join(tmp, 'System.map'));
      await copyFile(logPath, join(tmp, 'build.log'));
      await writeFile(join(tmp, 'fragment.txt'), fragmentText(fragment));
      // For `tailor size`: every fragment line with its reasons, and which object file defines each symbol.
      await writeFile(join(tmp, 'fragment.json'), JSON.stringify(fragment.lines, null, 2) + '\n');
      const archives = symbolArchives(arch).filter((a) => existsSync(join(buildDir, a)));
      const objects = await exec(`${cross}nm`, ['-A', '--defined-only', ...archives], { cwd: buildDir, allowFailure: true });
      await writeFile(join(tmp, 'objects.txt'), objects.stdout);
      const wantsPvh = parseDotConfig(finalConfig).get('PVH') === 'y';
      const hasPvh = arch.kernel.pvh && hasPvhNote(await readFile(join(tmp, 'vmlinux')), join(tmp, 'vmlinux'));
      if (wantsPvh && !hasPvh) throw new TailorError(`built vmlinux has no PVH entry note although CONFIG_PVH=y (${join(buildDir, 'vmlinux')})`);
      const release = (await readFile(join(buildDir, 'include/config/kernel.release'), 'utf8')).trim();
      const meta: KernelMeta = {
        key,
        fragmentHash: fhash,
        release,
        sourceVersion: version,
        compiler,
        makeVars: fragment.makeVars,
        summary: `${summaryOf(config)}${series.length ? ` source=${series.map((l) => l.name).join('+')}` : ''}`,
        createdAt: new Date().toISOString(),
        buildSeconds,
        objects: compiled,
        sizes: { bzImage: (await stat(join(tmp, arch.kernel.imageName))).size, vmlinux: (await stat(join(tmp, 'vmlinux'))).size },
        hasPvh,
        ...(base ? { base: { key: base.info.key, fragmentHash: base.info.fragmentHash, differing: base.differing } } : {}),
        ...(resumed ? { resumed } : {}),
        ...(series.length ? { series: series.map((l) => ({ kind: l.kind, name: l.name, sha256: l.sha256, reasons: l.reasons })) } : {}),
      };
      await writeFile(join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
      await rename(tmp, kernelDir(key)).catch(async (e: NodeJS.ErrnoException) => {
        if (!complete(key)) throw e; // someone else's identical kernel landed first: keep theirs
        await rm(tmp, { recursive: true, force: true });
      });
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    await rememberFragment(fhash, key);
    // Last: from now on the tree may seed variants.
    await markFinished(buildDir, { key, fragmentHash: fhash, sourceVersion: version, compiler, makeVars: fragment.makeVars, sourceDir: source.dir, sourceFiles: changedFiles });
    return { dir: kernelDir(key), meta: (await readMeta(key))!, cached: false, fragment };
  } finally {
    await lock.release();
  }
}
