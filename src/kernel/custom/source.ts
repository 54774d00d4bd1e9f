/**
 * The kernel source: Debian's linux-source-6.1 tarball, unpacked once into
 * the cache (cacheDir('src', <package version>)). Out-of-tree builds (O=)
 * let one unpacked source serve every configuration.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TailorError } from '../../errors.ts';
import { cacheDir } from '../../util/paths.ts';
import { exec } from '../../util/exec.ts';

export const sourcePackage = 'linux-source-6.1';
export const sourceTarball = '/usr/src/linux-source-6.1.tar.xz';

export interface KernelSource {
  /** Debian package version of linux-source (part of every cache key). */
  readonly version: string;
  /** Unpacked tree (read-only by convention: builds use O=). */
  readonly dir: string;
}

/** The installed linux-source package version, or a TailorError saying how to install it. */
export async function sourceVersion(): Promise<string> {
  const r = await exec('dpkg-query', ['-W', '-f=${Version}', sourcePackage], { allowFailure: true });
  if (r.code !== 0 || !r.stdout.trim() || !existsSync(sourceTarball)) {
    throw new TailorError(`the kernel source package ${sourcePackage} is not installed (kernel=custom builds from it)`, {
      hint: `install it with: apt-get install -y ${sourcePackage} bc bison flex libelf-dev libssl-dev ccache; or use kernel=stock`,
    });
  }
  return r.stdout.trim();
}

/** Unpack the source once (into a temp sibling, then rename: a killed unpack leaves nothing that looks complete). */
export async function ensureSource(log: (line: string) => void = () => {}): Promise<KernelSource> {
  const version = await sourceVersion();
  const dir = cacheDir('src', version);
  if (existsSync(join(dir, 'Makefile'))) return { version, dir };
  await mkdir(cacheDir('src'), { recursive: true });
  log(`unpacking ${sourceTarball} into ${dir} (once)`);
  const tmp = await mkdtemp(join(cacheDir('src'), `.unpack-${version}-`));
  try {
    await exec('tar', ['-C', tmp, '-xf', sourceTarball]);
    const [top] = await readdir(tmp);
    if (!top || !existsSync(join(tmp, top, 'Makefile'))) throw new TailorError(`${sourceTarball} does not contain a kernel tree`);
    await rename(join(tmp, top), dir).catch((e: NodeJS.ErrnoException) => {
      // Another process finished first: its copy is as good as ours.
      if (!existsSync(join(dir, 'Makefile'))) throw e;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { version, dir };
}
