/**
 * Programs for a foreign target architecture from Debian: the packages that
 * ship the files a module takes from the host, fetched for the target with
 * their dependency closure and unpacked (never installed) into a cached tree,
 * which the library closure (host-closure.ts with `root`) then resolves in.
 *
 * Which package ships a file: `dpkg -S` on this host, for the file, its real
 * path and their merged-/usr twins. A package has the same name on every
 * Debian architecture, and the host's own dpkg database answers offline and
 * exactly for the version installed, where a Contents index (apt-file) would
 * have to be downloaded first. Files no host package owns can be covered by
 * the module's packages: map, whose packages are always added.
 *
 * Dependency closure: `apt-get install --print-uris` with the target as apt's
 * only architecture and an empty dpkg status in a temporary folder, chosen
 * over `apt-cache depends --recurse` because apt's own solver then decides:
 * one choice per `a | b` alternative and per virtual package (apt-cache
 * depends lists every alternative and every provider), version constraints
 * honoured, Pre-Depends included, and the answer is the exact file list
 * (name, version, size) to download. The empty status means "an empty arm64
 * system": nothing is assumed installed, and the host's own dpkg state is
 * neither read nor locked. The closure is that of an installation
 * (maintainer-script helpers such as adduser and perl come along); the image
 * takes only the files its ELF closure reaches.
 *
 * Cache: .deb files under debs/<arch>/ (shared between trees), each tree
 * under packages/<arch>/<key>/ where the key hashes the exact file list
 * (names and versions), unpacked in a temporary folder renamed into place.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { hostArch, type TargetArch } from '../config/arch.ts';
import { TailorError } from '../errors.ts';
import { aptDownload, extractDeb, fromAptLists, type AptReply } from '../host/apt.ts';
import { tempSibling } from '../util/atomic.ts';
import { exec } from '../util/exec.ts';
import { cacheDir } from '../util/paths.ts';
import { realpathIn } from '../util/rooted-path.ts';

/** One .deb apt chose. */
export interface DebFile {
  readonly name: string;
  readonly version: string;
  /** The target architecture, or `all`. */
  readonly arch: string;
  /** apt's file name: name_version_arch.deb, with the version's ':' written %3a. */
  readonly file: string;
  readonly size: number;
}

/** An unpacked package tree in the cache. */
export interface PackageTree {
  /** The folder that stands for the target system's `/`. */
  readonly root: string;
  /** The packages asked for (before the closure), sorted. */
  readonly requested: readonly string[];
  /** Every package unpacked there, in apt's order. */
  readonly packages: readonly DebFile[];
}

const log = (msg: string) => process.stderr.write(`tailor: ${msg}\n`);

/** `apt-get --print-uris` lines: 'URI' FILE SIZE [HASH]. */
export function parsePrintUris(stdout: string): DebFile[] {
  const out: DebFile[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^'[^']+'\s+(\S+\.deb)\s+(\d+)(\s.*)?$/.exec(line.trim());
    if (!m) continue;
    const f = /^([^_]+)_([^_]+)_([^_]+)\.deb$/.exec(m[1]!);
    if (!f) throw new TailorError(`apt printed a package file name Tailor cannot read: ${m[1]}`);
    out.push({ name: f[1]!, version: decodeURIComponent(f[2]!), arch: f[3]!, file: m[1]!, size: Number(m[2]) });
  }
  return out;
}

/** `dpkg -S` output: path → the packages that own it (architecture qualifiers dropped; diversion lines skipped). */
export function parseDpkgSearch(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    if (line.startsWith('diversion by ')) continue;
    const at = line.indexOf(': /');
    if (at < 0) continue;
    const names = line.slice(0, at).split(',').map((n) => n.trim().replace(/:[a-z0-9]+$/, '')).filter((n) => n !== '');
    const path = line.slice(at + 2).trim();
    out.set(path, [...new Set([...(out.get(path) ?? []), ...names])]);
  }
  return out;
}

/** The path and its merged-/usr twin (/usr/bin/x and /bin/x, /usr/lib/... and /lib/...): dpkg knows a file under the name its package ships. */
export function usrMergeTwins(path: string): string[] {
  if (/^\/usr\/(bin|sbin|lib[^/]*)\//.test(path)) return [path, path.slice(4)];
  if (/^\/(bin|sbin|lib[^/]*)\//.test(path)) return [path, `/usr${path}`];
  return [path];
}

/** The cache key of a tree: its exact file list (names, versions, architectures). */
export function packageTreeKey(debs: readonly DebFile[]): string {
  return createHash('sha256').update(debs.map((d) => d.file).sort().join('\n')).digest('hex').slice(0, 16);
}

/** Which host packages own each of `paths` (through their real paths and merged-/usr twins too); paths no package owns map to []. */
export async function hostPackagesOf(paths: readonly string[]): Promise<Map<string, string[]>> {
  const candidates = new Map<string, string[]>();
  for (const p of paths) {
    const real = await realpath(p).catch(() => p);
    candidates.set(p, [...new Set([...usrMergeTwins(p), ...usrMergeTwins(real)])]);
  }
  const all = [...new Set([...candidates.values()].flat())];
  // Exit 1 when some path is owned by no package: the others are still listed.
  const r = all.length > 0 ? await exec('dpkg', ['-S', ...all], { allowFailure: true }) : { stdout: '' };
  const owners = parseDpkgSearch(r.stdout);
  return new Map(paths.map((p) => [p, [...new Set(candidates.get(p)!.flatMap((c) => owners.get(c) ?? []))].sort()]));
}

/** apt settings that make the target architecture apt's only one, over an empty dpkg status in `work`. */
function targetAptOptions(arch: TargetArch, work: string): string[] {
  return [
    '-o', `APT::Architecture=${arch.debianArch}`,
    '-o', `APT::Architectures=${arch.debianArch}`,
    '-o', `Dir::State::status=${join(work, 'status')}`,
    '-o', `Dir::State::extended_states=${join(work, 'extended_states')}`,
    // The package cache built for this view stays in memory: the host's pkgcache.bin is left alone.
    '-o', 'Dir::Cache::pkgcache=',
    '-o', 'Dir::Cache::srcpkgcache=',
  ];
}

async function withTargetApt<T>(arch: TargetArch, use: (options: string[]) => Promise<T>): Promise<T> {
  const work = await mkdtemp(join(tmpdir(), 'tailor-apt-'));
  try {
    await writeFile(join(work, 'status'), '');
    return await use(targetAptOptions(arch, work));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** apt's closure of `packages` for `arch`, or apt's error lines. */
async function printUris(packages: readonly string[], arch: TargetArch): Promise<AptReply<DebFile[]>> {
  return withTargetApt(arch, async (options) => {
    const r = await exec('apt-get', ['install', '--print-uris', '-qq', '--no-install-recommends', ...options, ...packages], { allowFailure: true });
    if (r.code !== 0) return { error: r.stderr.trim().split('\n').filter((l) => l.startsWith('E:') || l.startsWith(' ')).slice(0, 8).join('\n') || r.stderr.trim() };
    return { answer: parsePrintUris(r.stdout) };
  });
}

/**
 * The packages, with their dependency closure, that `packages` need on `arch`.
 * Kept until apt's lists change; the architecture is added to dpkg and the
 * lists updated once when apt does not know the packages yet.
 */
export async function resolvePackageClosure(packages: readonly string[], arch: TargetArch): Promise<DebFile[]> {
  const requested = [...new Set(packages)].sort();
  const id = createHash('sha256').update(requested.join('\n')).digest('hex').slice(0, 16);
  const what = `the ${arch.debianArch} packages ${requested.join(', ')}`;
  const reply = await fromAptLists<{ requested: string[]; debs: DebFile[] }>({
    recordPath: cacheDir('packages', arch.debianArch, 'resolved', `${id}.json`),
    arch,
    what,
    fallback: '',
    valid: (a) => a.requested.join('\n') === requested.join('\n') && a.debs.length > 0,
    ask: async () => {
      const r = await printUris(requested, arch);
      return 'error' in r ? r : { answer: { requested, debs: r.answer } };
    },
  });
  if ('error' in reply) {
    throw new TailorError(`apt cannot resolve ${what} with their dependencies:\n${reply.error}`, {
      hint: `check that Debian ships them for ${arch.debianArch} (apt-cache policy ${requested.map((p) => `${p}:${arch.debianArch}`).join(' ')}), or build the program from source with a build: command`,
    });
  }
  return reply.answer.debs;
}

async function sizeOf(path: string): Promise<number | undefined> {
  return stat(path).then((s) => s.size, () => undefined);
}

/** The .deb files of `debs` in the shared download cache; downloads the missing ones (into a temporary folder, then renamed in). */
async function fetchDebs(debs: readonly DebFile[], arch: TargetArch): Promise<string[]> {
  const dir = cacheDir('debs', arch.debianArch);
  const missing: DebFile[] = [];
  for (const d of debs) if ((await sizeOf(join(dir, d.file))) !== d.size) missing.push(d);
  if (missing.length > 0) {
    const mb = missing.reduce((n, d) => n + d.size, 0) / 1e6;
    log(`downloading ${missing.length} ${arch.debianArch} packages (${mb.toFixed(1)} MB; apt-get download, not installed on this host)`);
    await mkdir(dir, { recursive: true });
    const tmp = tempSibling(join(dir, 'download'));
    await mkdir(tmp);
    try {
      await withTargetApt(arch, (options) => aptDownload(missing.map((d) => `${d.name}=${d.version}`), tmp, options));
      for (const d of missing) {
        const got = await sizeOf(join(tmp, d.file));
        if (got !== d.size) throw new TailorError(`apt-get download ${d.name}=${d.version}: expected ${d.file} of ${d.size} bytes, got ${got ?? 'no file'}`);
      }
      for (const d of missing) await rename(join(tmp, d.file), join(dir, d.file));
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return debs.map((d) => join(dir, d.file));
}

async function readTree(dir: string): Promise<PackageTree | undefined> {
  try {
    const tree = JSON.parse(await readFile(join(dir, 'tree.json'), 'utf8')) as Omit<PackageTree, 'root'>;
    return { ...tree, root: join(dir, 'root') };
  } catch {
    return undefined;
  }
}

/** `packages` for `arch` with their dependency closure, unpacked into a cached tree. */
export async function packageTree(packages: readonly string[], arch: TargetArch): Promise<PackageTree> {
  const requested = [...new Set(packages)].sort();
  const debs = await resolvePackageClosure(requested, arch);
  const dir = cacheDir('packages', arch.debianArch, packageTreeKey(debs));
  const cached = await readTree(dir);
  if (cached) return cached;
  const files = await fetchDebs(debs, arch);
  const tmp = tempSibling(dir);
  await mkdir(tmp, { recursive: true });
  try {
    log(`unpacking ${debs.length} ${arch.debianArch} packages for ${requested.join(', ')} into ${dir}`);
    for (const f of files) await extractDeb(f, join(tmp, 'root'));
    const record: Omit<PackageTree, 'root'> = { requested, packages: debs };
    await writeFile(join(tmp, 'tree.json'), `${JSON.stringify(record, null, 2)}\n`);
    try {
      await rename(tmp, dir);
    } catch (err) {
      // Another build unpacked the same packages first: use theirs.
      const theirs = ['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '') ? await readTree(dir) : undefined;
      if (!theirs) throw err;
      await rm(tmp, { recursive: true, force: true });
      return theirs;
    }
    return { ...record, root: join(dir, 'root') };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Where a host path's file is in a tree of `arch`'s packages: the same path,
 * with the host's multiarch triplet changed to the target's (folders and
 * file names), each also under
 * its merged-/usr twin (packages ship /bin/x or /usr/bin/x, and the tree is
 * not merged). Undefined when none exists there.
 */
export async function locateInTree(root: string, hostPath: string, arch: TargetArch): Promise<string | undefined> {
  const host = hostArch();
  // The triplet also names files: python's lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so.
  const translated = host && host.multiarch !== arch.multiarch ? hostPath.split(host.multiarch).join(arch.multiarch) : hostPath;
  for (const candidate of [...new Set([...usrMergeTwins(translated), ...usrMergeTwins(hostPath)])]) {
    if (await realpathIn(root, candidate).then(() => true, () => false)) return posix.normalize(candidate);
  }
  return undefined;
}
