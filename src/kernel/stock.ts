/**
 * kernel=stock: Debian's prebuilt linux-image-<abi>-amd64 (or -arm64 for
 * arch=aarch64), fetched with `apt-get download` (never installed on the
 * host), unpacked into Tailor's cache once per package version, with the
 * module index and (x86-64) the uncompressed PVH vmlinux prepared beside it.
 * Later calls read the cache only; apt is consulted again only when its
 * package lists changed. A foreign architecture's package needs that
 * architecture in dpkg's list (`dpkg --add-architecture`, downloads only).
 */
import { sha256File } from '../util/sha256.ts';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { targetArches, type TargetArch } from '../config/arch.ts';
import { aptDownload, aptName, extractDeb, fromAptLists } from '../host/apt.ts';
import { TailorError } from '../errors.ts';
import { writeFileAtomic, tempSibling } from '../util/atomic.ts';
import { exec } from '../util/exec.ts';
import { cacheDir } from '../util/paths.ts';
import { extractVmlinux, type PayloadCompression } from './bzimage.ts';
import { hasPvhNote } from '../elf/index.ts';
import { stockModulesFor, validateKernelNeeds } from './features.ts';
import { loadModuleIndex, resolveModules, writeModuleIndex } from './modules-dep.ts';
import type { KernelArtifact } from './types.ts';

export interface StockPackage {
  /** e.g. linux-image-6.1.0-56-amd64 */
  readonly name: string;
  /** e.g. 6.1.192-2 */
  readonly version: string;
}

/** What the cache folder of one package version holds (stock.json). */
export interface StockKernelFiles {
  readonly package: StockPackage;
  readonly release: string;
  /** sha256 and size of the .deb it came from. */
  readonly debSha256: string;
  readonly debSize: number;
  /** Host paths, relative to the cache folder. */
  readonly bzImage: string;
  readonly vmlinux?: string;
  readonly config: string;
  /** /lib/modules/<release> inside the unpacked package. */
  readonly moduleDir: string;
  readonly payloadCompression?: PayloadCompression;
}

const log = (msg: string) => process.stderr.write(`tailor: ${msg}\n`);

/** Folder name for a Debian version (epochs have ':'). */
const versionDirName = (v: string) => v.replace(/[^A-Za-z0-9.+~-]/g, '_');

/** The cache folder of one stock kernel package version (x86-64 at the top, other architectures in their own folder). */
export function stockCacheDir(version: string, arch: TargetArch = targetArches.x64): string {
  return arch.name === targetArches.x64.name ? cacheDir('stock', versionDirName(version)) : cacheDir('stock', arch.debianArch, versionDirName(version));
}

/** The kernel package a linux-image-amd64 (or -arm64, per `debianArch`) record (apt-cache show) depends on, with its exact version. */
export function parseMetaPackageRecord(record: string, debianArch = 'amd64'): StockPackage | undefined {
  const dep = new RegExp(`^Depends:.*?\\b(linux-image-[0-9][^\\s,(]*-${debianArch})\\s*\\(=\\s*([^)\\s]+)\\)`, 'm').exec(record);
  return dep ? { name: dep[1]!, version: dep[2]! } : undefined;
}

async function queryApt(arch: TargetArch): Promise<StockPackage | undefined> {
  const r = await exec('apt-cache', ['show', '--no-all-versions', aptName(arch.kernel.stockMetaPackage, arch)], { allowFailure: true });
  return r.code === 0 ? parseMetaPackageRecord(r.stdout, arch.debianArch) : undefined;
}

/**
 * Which linux-image package Debian currently ships, from apt's cache;
 * runs `apt-get update` once when apt knows none. The answer is kept
 * until apt's package lists change.
 */
export async function resolveStockPackage(arch: TargetArch = targetArches.x64): Promise<StockPackage> {
  const META_PACKAGE = aptName(arch.kernel.stockMetaPackage, arch);
  const reply = await fromAptLists<StockPackage>({
    recordPath: cacheDir('stock', arch.name === targetArches.x64.name ? 'resolved.json' : `resolved-${arch.debianArch}.json`),
    arch,
    what: `Debian's ${arch.debianArch} kernel package (${META_PACKAGE})`,
    fallback: 'use kernel=custom',
    valid: (p) => Boolean(p.name && p.version),
    ask: async () => {
      const pkg = await queryApt(arch);
      return pkg ? { answer: pkg } : { error: `apt knows no ${META_PACKAGE} package` };
    },
  });
  if ('error' in reply) {
    throw new TailorError(`apt has no ${META_PACKAGE} package with a linux-image-*-${arch.debianArch} dependency`, {
      hint: `kernel=stock needs a Debian (${arch.debianArch}) apt source with the main component; or use kernel=custom`,
    });
  }
  return reply.answer;
}

/** Download and unpack `pkg` into `dir` (a fresh temp folder). */
async function unpackPackage(pkg: StockPackage, dir: string, arch: TargetArch): Promise<StockKernelFiles> {
  log(`downloading Debian's kernel ${pkg.name} ${pkg.version} (apt-get download, not installed on this host)`);
  const debPath = (await aptDownload([`${aptName(pkg.name, arch)}=${pkg.version}`], dir, [], 'use kernel=custom'))[0]!;
  const deb = basename(debPath);
  const debSha256 = await sha256File(debPath);
  const debSize = (await stat(debPath)).size;
  log(`unpacking ${deb} (${(debSize / 1e6).toFixed(1)} MB)`);
  await extractDeb(debPath, join(dir, 'root'));
  await rm(debPath);

  const releases = await readdir(join(dir, 'root', 'lib', 'modules'));
  if (releases.length !== 1) throw new TailorError(`${deb}: expected one /lib/modules/<release> folder, found ${releases.join(', ') || 'none'}`);
  const release = releases[0]!;
  const moduleDir = join('root', 'lib', 'modules', release);
  const bzImage = join('root', 'boot', `vmlinuz-${release}`);
  const config = join('root', 'boot', `config-${release}`);
  for (const f of [bzImage, config]) await stat(join(dir, f)); // fail here, not at boot, if the package layout changed

  const count = await writeModuleIndex(join(dir, moduleDir));
  log(`indexed ${count} kernel modules of ${release}`);

  // The uncompressed vmlinux is only worth keeping when it can be booted through PVH (x86-64).
  let vmlinux: string | undefined = 'vmlinux';
  let payloadCompression: PayloadCompression | undefined;
  if (!arch.kernel.pvh) return { package: pkg, release, debSha256, debSize, bzImage, config, moduleDir };
  try {
    payloadCompression = await extractVmlinux(join(dir, bzImage), join(dir, vmlinux));
    if (!hasPvhNote(await readFile(join(dir, vmlinux)), join(dir, vmlinux))) {
      log(`${release}: the vmlinux has no PVH entry note; booting the bzImage instead`);
      await rm(join(dir, vmlinux));
      vmlinux = undefined;
    }
  } catch (err) {
    log(`${release}: no uncompressed vmlinux (${(err as Error).message}); booting the bzImage instead`);
    vmlinux = undefined;
  }
  return { package: pkg, release, debSha256, debSize, bzImage, vmlinux, config, moduleDir, payloadCompression };
}

/** stock.json of a finished cache folder whose kernel is still there; undefined otherwise. */
async function readCached(dir: string): Promise<StockKernelFiles | undefined> {
  try {
    const files = JSON.parse(await readFile(join(dir, 'stock.json'), 'utf8')) as StockKernelFiles;
    await stat(join(dir, files.bzImage));
    return files;
  } catch {
    return undefined;
  }
}

/** The stock kernel's files, from the cache or freshly fetched (into a temp folder renamed into place). */
export async function fetchStockKernel(pkg: StockPackage, arch: TargetArch = targetArches.x64): Promise<{ dir: string; files: StockKernelFiles }> {
  const dir = stockCacheDir(pkg.version, arch);
  const cached = await readCached(dir);
  if (cached) return { dir, files: cached };
  await mkdir(dirname(dir), { recursive: true });
  const tmp = tempSibling(dir);
  await mkdir(tmp);
  try {
    const files = await unpackPackage(pkg, tmp, arch);
    await writeFileAtomic(join(tmp, 'stock.json'), `${JSON.stringify(files, null, 2)}\n`);
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(tmp, dir);
        return { dir, files };
      } catch (err) {
        if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '') || attempt > 0) throw err;
        // Another build finished the same version first: use theirs. A folder without a kernel is damaged: replace it.
        const theirs = await readCached(dir);
        if (theirs) {
          await rm(tmp, { recursive: true, force: true });
          return { dir, files: theirs };
        }
        await rm(dir, { recursive: true, force: true });
      }
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Every finished stock kernel in the cache (for listing, and for tests that must not call apt), newest first. */
export async function cachedStockKernels(): Promise<{ dir: string; files: StockKernelFiles }[]> {
  let names: string[];
  try {
    names = await readdir(cacheDir('stock'));
  } catch {
    return [];
  }
  const out: { dir: string; files: StockKernelFiles; mtime: number }[] = [];
  for (const name of names) {
    if (name.startsWith('.') || name.endsWith('.json')) continue;
    const dir = cacheDir('stock', name);
    const files = await readCached(dir);
    if (files) out.push({ dir, files, mtime: (await stat(join(dir, 'stock.json'))).mtimeMs });
  }
  return out.sort((a, b) => b.mtime - a.mtime).map(({ dir, files }) => ({ dir, files }));
}

/** A kernel .config as symbol -> value ('y', 'm', a string; 'n' for "is not set"). */
export function parseKernelConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    let m = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!.replace(/^"(.*)"$/, '$1'));
    else if ((m = /^# CONFIG_([A-Za-z0-9_]+) is not set$/.exec(line))) out.set(m[1]!, 'n');
  }
  return out;
}

/** initramfs compressions a kernel configuration can unpack. */
export function initrdCompressionsOf(config: ReadonlyMap<string, string>): KernelArtifact['initrdCompressions'] {
  const out: ('none' | 'gzip' | 'lz4' | 'zstd' | 'xz')[] = ['none'];
  if (config.get('RD_GZIP') === 'y') out.push('gzip');
  if (config.get('RD_LZ4') === 'y') out.push('lz4');
  if (config.get('RD_ZSTD') === 'y') out.push('zstd');
  if (config.get('RD_XZ') === 'y') out.push('xz');
  return out;
}

/**
 * Debian's kernel with the modules that `needs` (kernel feature names, see
 * features.ts) and the requested virtio transports require, in load order.
 */
export async function prepareStockKernel(needs: readonly string[], transport: { mmio: boolean; pci: boolean }, arch: TargetArch = targetArches.x64): Promise<KernelArtifact> {
  const wanted = validateKernelNeeds([
    ...(transport.mmio ? ['virtio-mmio'] : []),
    ...(transport.pci ? ['virtio-pci'] : []),
    ...needs,
  ]);
  const pkg = await resolveStockPackage(arch);
  const { dir, files } = await fetchStockKernel(pkg, arch);
  const config = parseKernelConfig(await readFile(join(dir, files.config), 'utf8'));
  const index = await loadModuleIndex(join(dir, files.moduleDir), files.release);
  const modules = resolveModules(index, stockModulesFor(wanted));
  const loaded = new Set(modules.map((m) => m.source));
  // A transport is usable when built in (=y) or when its module is among those the image loads.
  const provides = (symbol: string, module: string) =>
    config.get(symbol) === 'y' || (config.get(symbol) === 'm' && index.modules.has(module) && loaded.has(join(index.dir, index.modules.get(module)!.path)));
  return {
    flavour: 'stock',
    release: files.release,
    packageVersion: files.package.version,
    bzImage: join(dir, files.bzImage),
    imageName: arch.kernel.stockImageName,
    ...(files.vmlinux ? { vmlinux: join(dir, files.vmlinux) } : {}),
    config: join(dir, files.config),
    // Debian's System.map is a placeholder pointing at the -dbg package: not worth a path.
    modules,
    initrdCompressions: initrdCompressionsOf(config),
    hasVirtioMmio: provides('VIRTIO_MMIO', 'virtio_mmio'),
    hasVirtioBlk: provides('VIRTIO_BLK', 'virtio_blk'),
    hasPci: config.get('PCI') === 'y' && provides('VIRTIO_PCI', 'virtio_pci'),
    hasAcpi: config.get('ACPI') === 'y',
  };
}
