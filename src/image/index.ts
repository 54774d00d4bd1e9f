/**
 * Stage 5: a build folder. Runs the stages in order (modules → kernel →
 * rootfs) and writes build/<name>/ — kernel, initrd or root disk, cmdline,
 * manifest, build.json (every file with its sha256) — into a temporary
 * folder renamed into place at the end, then points build/last at it. A
 * killed build leaves only that temporary folder, removed by the next build.
 */
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import type { BuildConfig } from '../config/types.ts';
import { UsageError } from '../errors.ts';
import { moduleSourceRequests, prepareKernel } from '../kernel/index.ts';
import type { KernelArtifact } from '../kernel/types.ts';
import { planModules, selectModules } from '../modules/index.ts';
import type { ModulePlan } from '../modules/types.ts';
import { writeRootfs } from '../rootfs/index.ts';
import type { ContentTree, RamfsCompression } from '../rootfs/types.ts';
import { appReplacesDefaultImage, appSpec } from '../modules/app.ts';
import { assembleContent } from './content.ts';
import { addHostFiles } from './host-files.ts';
import { buildGuestInit } from './guest-init.ts';
import { kernelWords, rootfsNeeds } from './boot-args.ts';
import { runModuleBuilds } from './module-build.ts';
import { needsStubInitrd, splitForStub } from './stub-initrd.ts';
import { removeStaleTemps, replaceDir, tempDirFor } from './stale-temps.ts';
import type { ArtifactRecord, BuildRecord } from './types.ts';
import { sha256File } from '../util/sha256.ts';
import { targetArch, type TargetArch } from '../config/arch.ts';
import { checkImageArch } from './arch-check.ts';

export { sha256File };

export interface BuildResult {
  readonly dir: string;
  readonly record: BuildRecord;
}

export type Progress = (message: string) => void;

export function buildName(config: BuildConfig): string {
  const explicit = String(config.options.name);
  const app = appSpec(config);
  const images = appReplacesDefaultImage(config) ? [] : (config.options.image as string[]);
  const name = explicit || [...images, ...(app ? [app.name] : [])].join('+') || 'empty';
  if (!/^[A-Za-z0-9_.+-]+$/.test(name) || name === 'last' || name.startsWith('.')) {
    throw new UsageError(`build name "${name}" is not usable as a folder name`, 'set name= to letters, digits, _ . + -');
  }
  return name;
}

export async function buildImage(config: BuildConfig, progress: Progress = () => {}): Promise<BuildResult> {
  const o = config.options;
  const arch = targetArch(o.arch);
  const fs = String(o.fs);
  // fs=virtiofs: an initramfs image whose kernel can mount host shares (9p); the share itself is given at run time.
  const rootKind = fs === 'virtiofs' ? 'ramfs' : fs;
  const buildRoot = join(config.cwd, 'build');
  const name = buildName(config);
  const finalDir = join(buildRoot, name);
  const tmpDir = tempDirFor(buildRoot, name);
  for (const stale of await removeStaleTemps(buildRoot)) progress(`removed ${join('build', stale)} (left by a build that was killed)`);
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  try {
    progress('resolving modules');
    const selection = selectModules(config);
    const moduleBuildRoot = join(buildRoot, '.modules');
    for (const stale of await removeStaleTemps(moduleBuildRoot)) progress(`removed ${join('build', '.modules', stale)} (left by a build that was killed)`);
    await runModuleBuilds(selection.order, config, moduleBuildRoot);
    const modulePlan = planModules(selection, moduleBuildRoot);
    for (const note of modulePlan.notes ?? []) progress(`note: ${note}`);
    const plan = await addHostFiles({
      plan: modulePlan,
      modules: selection.order,
      moduleBuildRoot,
      app: appSpec(config),
      extraLibs: o.extra_libs as string[],
      arch,
    });

    // An image whose command line traces (--trace=...) needs the kernel's tracepoints and tracefs.
    const traceNeeds = /(^|\s)--trace(=|\s)/.test(plan.command ?? '') ? ['tracing'] : [];
    const needs = [...new Set([...plan.kernelNeeds, ...(rootfsNeeds[fs] ?? []), ...traceNeeds])].sort();
    progress(`preparing the ${String(o.kernel)} kernel (needs: ${needs.join(', ') || 'none'})`);
    const needSources = new Map<string, string[]>();
    for (const m of plan.order) for (const n of m.kernelNeeds) needSources.set(n, [...(needSources.get(n) ?? []), `module ${m.name}`]);
    const kernel = await prepareKernel(config, needs, needSources, moduleSourceRequests(selection.order));

    progress(`building the guest init (${arch.title})`);
    const initPath = await buildGuestInit(arch);
    const appCmdline = plan.command ?? '';
    const tree = await assembleContent({
      plan,
      kernel,
      initPath,
      appCmdline,
      stripElf: o.conf_hide_symbols === true,
      scratchDir: tmpDir,
    });

    const owners = new Map(plan.manifest.map((e) => [e.guestPath, e.module]));
    await checkImageArch(tree, arch, (p) => owners.get(p));

    progress(`writing the ${rootKind} root filesystem`);
    const rootFile = rootKind === 'ramfs' ? 'initrd.img' : `root.${rootKind === 'rofs' ? 'erofs' : rootKind}`;
    const compression = chooseCompression(rootKind, String(o.fs_compression), kernel);
    const stubbed = needsStubInitrd(rootKind, kernel);
    const parts = stubbed ? splitForStub(tree, kernel) : { root: tree, stub: undefined };
    const root = await writeRootfs(parts.root, join(tmpDir, rootFile), {
      fs: rootKind as 'ramfs' | 'rofs' | 'ext4' | 'btrfs',
      compression,
      sizeMiB: Number(o.fs_size_mb) || undefined,
      seed: config.hash,
    });
    const stub = parts.stub
      ? await writeRootfs(parts.stub, join(tmpDir, 'initrd.img'), { fs: 'ramfs', compression: 'gzip', seed: config.hash })
      : undefined;

    const bzImage = await placeFile(kernel.bzImage, join(tmpDir, kernel.imageName ?? 'bzImage'));
    const vmlinux = kernel.vmlinux ? await placeFile(kernel.vmlinux, join(tmpDir, 'vmlinux')) : undefined;
    const kernelCmdline = kernelWords(rootKind, {
      pci: kernel.hasPci,
      btrfsCompression: fs === 'btrfs' ? compression : undefined,
      stubInitrd: stubbed,
      net: needs.includes('net'),
      arch,
    }).join(' ');
    await writeFile(join(tmpDir, 'cmdline'), `${kernelCmdline} -- ${appCmdline}\n`);
    await writeFile(join(tmpDir, 'usr.manifest'), manifestText(plan, tree));

    const rootRecord: ArtifactRecord = { file: rootFile, bytes: root.bytes, sha256: root.sha256 };
    const record: BuildRecord = {
      formatVersion: 1,
      name,
      configHash: config.hash,
      ...(arch.name !== 'x64' ? { arch: arch.name } : {}),
      options: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { value: v, source: config.sources[k] }])),
      ...(config.profileName ? { profile: config.profileName } : {}),
      modules: plan.order.map((m) => m.name),
      kernel: {
        flavour: kernel.flavour,
        release: kernel.release,
        packageVersion: kernel.packageVersion,
        bzImage,
        ...(vmlinux ? { vmlinux } : {}),
        hasVirtioMmio: kernel.hasVirtioMmio,
        hasVirtioBlk: kernel.hasVirtioBlk,
        hasPci: kernel.hasPci,
        hasAcpi: kernel.hasAcpi,
        ...(await kernelConfigFacts(kernel, arch)),
      },
      ...(rootKind === 'ramfs'
        ? { initrd: { ...rootRecord, compression } }
        : { rootDisk: { ...rootRecord, fs: rootKind, readOnly: root.readOnly } }),
      ...(stub ? { initrd: { file: 'initrd.img', bytes: stub.bytes, sha256: stub.sha256, compression: 'gzip' } } : {}),
      kernelNeeds: needs,
      ...(needs.includes('9p') || needs.includes('virtiofs')
        ? { hostShares: (['9p', 'virtiofs'] as const).filter((t) => needs.includes(t)) }
        : {}),
      kernelCmdline,
      appCmdline,
      builtAt: new Date().toISOString(),
    };
    if (o.export !== 'none') await exportTree(tree, plan, String(o.export), join(tmpDir, 'export'));
    await removeScratch(tmpDir);
    const full: BuildRecord = { ...record, extraFiles: await extraFiles(tmpDir, record) };
    // Written last: a folder with a build.json has all its files.
    await writeFile(join(tmpDir, 'build.json'), JSON.stringify(full, null, 2) + '\n');

    progress('moving the build into place');
    await replaceDir(tmpDir, finalDir);
    await pointLast(buildRoot, name);
    return { dir: finalDir, record: full };
  } catch (err) {
    await rm(tmpDir, { recursive: true, force: true });
    throw err;
  }
}

function chooseCompression(fs: string, requested: string, kernel: KernelArtifact): RamfsCompression | string {
  if (fs === 'ramfs') {
    const c = requested === 'auto' ? 'gzip' : requested;
    if (!(kernel.initrdCompressions as readonly string[]).includes(c)) {
      throw new UsageError(
        `fs_compression=${c}: this kernel cannot unpack a ${c} initramfs`,
        `use one of: ${kernel.initrdCompressions.join(', ')}`,
      );
    }
    return c;
  }
  if (fs === 'rofs') return requested === 'auto' ? 'lz4hc' : requested;
  if (fs === 'btrfs') return requested === 'auto' ? 'zstd' : requested;
  return 'none';
}

/**
 * What the run stage needs from the kernel's .config: whether it reads virtio_mmio.device= words
 * (else microvm must use ACPI for its devices), and whether it drives Firecracker's console.
 */
async function kernelConfigFacts(kernel: KernelArtifact, arch: TargetArch): Promise<Pick<BuildRecord['kernel'], 'virtioMmioCmdline' | 'firecrackerConsole'>> {
  const { parseKernelConfig } = await import('../kernel/stock.ts');
  const config = parseKernelConfig(await readFile(kernel.config, 'utf8'));
  const consoleSymbols = arch.firecracker?.consoleSymbols ?? [];
  return {
    virtioMmioCmdline: config.get('VIRTIO_MMIO_CMDLINE_DEVICES') === 'y',
    ...(consoleSymbols.length ? { firecrackerConsole: consoleSymbols.every((s) => config.get(s) === 'y') } : {}),
  };
}

/** Hard-link a cached kernel file into the build when on the same file system (no copy), else copy. */
async function placeFile(source: string, dest: string): Promise<ArtifactRecord> {
  try {
    await link(source, dest);
  } catch {
    await copyFile(source, dest);
  }
  return { file: basename(dest), bytes: (await stat(dest)).size, sha256: await sha256File(dest) };
}

/** Every regular file of the folder besides build.json and the boot files the record already describes, sorted. */
async function extraFiles(dir: string, record: BuildRecord): Promise<ArtifactRecord[]> {
  const described = new Set([record.kernel.bzImage, record.kernel.vmlinux, record.initrd, record.rootDisk].filter((a) => a !== undefined).map((a) => a.file));
  const out: ArtifactRecord[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const file = relative(dir, path);
    if (file === 'build.json' || described.has(file)) continue;
    out.push({ file, bytes: (await stat(path)).size, sha256: await sha256File(path) });
  }
  return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** The final manifest: every guest path, what it is, where it came from. */
function manifestText(plan: ModulePlan, tree: ContentTree): string {
  const owner = new Map(plan.manifest.map((e) => [e.guestPath, e.module]));
  const lines = [...tree.entries]
    .sort((a, b) => (a.path < b.path ? -1 : 1))
    .map((e) => {
      const from = e.kind === 'file' ? e.source : e.kind === 'symlink' ? `->${e.target}` : e.kind === 'data' ? '(generated)' : `(${e.kind})`;
      return `${e.path}: ${from}  # ${owner.get(e.path) ?? 'tailor'}`;
    });
  return `# Final image manifest, written by tailor build\n${lines.join('\n')}\n`;
}

async function exportTree(tree: ContentTree, plan: ModulePlan, mode: string, dir: string): Promise<void> {
  const { stageTree } = await import('../rootfs/staging.ts');
  const own = new Set(plan.manifest.map((e) => e.guestPath));
  const entries = mode === 'selected' ? tree.entries.filter((e) => own.has(e.path)) : tree.entries;
  await stageTree({ entries: entries.filter((e) => e.kind !== 'chardev') }, dir);
}

async function removeScratch(dir: string): Promise<void> {
  for (const f of await readdir(dir)) if (f.startsWith('stripped-')) await rm(join(dir, f));
}


async function pointLast(buildRoot: string, name: string): Promise<void> {
  const last = join(buildRoot, 'last');
  const tmp = join(buildRoot, `.last.tmp-${process.pid}`);
  await rm(tmp, { force: true });
  await symlink(name, tmp);
  await rename(tmp, last);
}
