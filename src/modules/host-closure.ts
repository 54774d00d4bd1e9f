/**
 * Host packaging: given programs that run on this host, list every file the
 * guest needs to run them — the binary, its interpreter, its library closure
 * resolved the way glibc's dynamic loader resolves it, the NSS modules glibc
 * dlopens, and the /etc files such programs read.
 *
 * Layout choice: each library becomes a regular file at the path the loader
 * opens (e.g. /lib/x86_64-linux-gnu/libc.so.6, the soname path), copied from
 * the real file behind any symlink chain; no symlinks for libraries. A binary
 * given through a symlink (/usr/bin/java -> /usr/lib/jvm/.../bin/java) is
 * placed at its real path with a symlink at the given path, because the
 * loader computes the executable's $ORIGIN from its real path. The guest has
 * no ld.so.cache, so a library the host's cache finds outside the default
 * directories (/usr/local/lib, ...) is placed in /usr/lib/<triplet>/.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, posix } from 'node:path';
import { TailorError, UsageError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { cacheDir } from '../util/paths.ts';
import { ElfError, parseElf, readSymbols, EM_AARCH64, EM_X86_64, type ElfFile } from '../elf/index.ts';
import { FLAG_AARCH64_LIB64, FLAG_X8664_LIB64, ldCacheLookup, readLdCache, type LdCache } from '../elf/ld-so-cache.ts';
import { hostPathIn, realpathIn } from '../util/rooted-path.ts';
import { targetArches } from '../config/arch.ts';

export interface HostFile {
  /** Absolute path in the guest. */
  readonly guestPath: string;
  /** Host file whose contents go there (a real file, never a symlink), or the symlink itself when linkTarget is set. */
  readonly hostPath: string;
  /** Why the file is in the image, for `tailor size` and error messages. */
  readonly reason: string;
  /** When set, the guest entry is a symlink to this absolute guest path instead of a copy. */
  readonly linkTarget?: string;
}

export interface HostClosureOptions {
  /**
   * extra_libs=: libraries the programs dlopen, as absolute paths or sonames
   * (resolved like DT_NEEDED of the first binary), and directories to search
   * for any library (after RUNPATH, before ld.so.cache). All are closed over.
   */
  readonly extraLibs?: readonly string[];
  /** The loader cache to consult (default /etc/ld.so.cache; tests point elsewhere). */
  readonly ldCachePath?: string;
  /**
   * A folder holding another system's files (an unpacked package tree for a
   * foreign architecture): every path, binaries included, is looked up inside
   * it, its symlinks resolve inside it, and instead of a loader cache the
   * folders its /etc/ld.so.conf lists are searched, then the default ones
   * (a library found outside those is placed in one: the guest has no cache).
   */
  readonly root?: string;
}

/** Where the closure's files are looked up: this host's root, or a folder with another system's files. */
interface FileView {
  /** The path with every symlink followed, as the looked-at system sees it. */
  real(path: string): Promise<string>;
  /** The host file behind a path of that system. */
  host(path: string): string;
  /** How messages name a path of it. */
  describe(path: string): string;
  /** The fix when a library is not found. */
  missingHint(name: string): string;
}

const hostView: FileView = {
  real: (p) => realpath(p),
  host: (p) => p,
  describe: (p) => `host binary ${p}`,
  missingHint: (name) => `install the package that ships it (apt-file search ${name.split('/').pop()}) or add its directory with extra_libs=`,
};

function treeView(root: string): FileView {
  return {
    real: (p) => realpathIn(root, p),
    host: (p) => hostPathIn(root, p),
    describe: (p) => `${p} (in ${root})`,
    missingHint: () => `no package unpacked in ${root} ships it: name the Debian package that does in the module's packages: (package: /path/of/a/file/it/ships)`,
  };
}

/** Per-architecture facts the loader uses: cache flags, multiarch triplet, $PLATFORM. */
interface Arch {
  readonly machine: number;
  readonly cacheFlags: number;
  readonly triplet: string;
  readonly platform: string;
}
const ARCHES: readonly Arch[] = [
  { machine: EM_X86_64, cacheFlags: FLAG_X8664_LIB64, triplet: targetArches.x64.multiarch, platform: 'x86_64' },
  { machine: EM_AARCH64, cacheFlags: FLAG_AARCH64_LIB64, triplet: targetArches.aarch64.multiarch, platform: 'aarch64' },
];

/** glibc's built-in search path on Debian (what `ld.so --help` lists as "system search path"). */
function defaultDirs(arch: Arch): string[] {
  return [`/lib/${arch.triplet}`, `/usr/lib/${arch.triplet}`, '/lib', '/usr/lib'];
}

const DF_1_NODEFLIB = 0x800n;
const LD_SO_CONF = "a folder of the tree's /etc/ld.so.conf";

/** The library folders a tree's /etc/ld.so.conf and ld.so.conf.d/*.conf list, in ldconfig's order (include lines taken as ld.so.conf.d). */
async function treeLdConfDirs(root: string): Promise<string[]> {
  const texts: string[] = [];
  const confD = hostPathIn(root, '/etc/ld.so.conf.d');
  const names = await readdir(confD).catch(() => [] as string[]);
  for (const n of names.filter((f) => f.endsWith('.conf')).sort()) texts.push(await readFile(posix.join(confD, n), 'utf8').catch(() => ''));
  texts.push(await readFile(hostPathIn(root, '/etc/ld.so.conf'), 'utf8').catch(() => ''));
  const dirs = texts.flatMap((t) => t.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter((l) => l.startsWith('/')));
  return [...new Set(dirs.map((d) => posix.normalize(d)))];
}

/** A shared object the loader has mapped (in our simulation). */
interface Loaded {
  /** The host path the loader opened it by (not resolved through symlinks); its $ORIGIN is this directory. */
  readonly path: string;
  readonly elf: ElfFile;
  /** The object whose DT_NEEDED (or dlopen) brought it in; undefined for the executable. */
  readonly loader?: Loaded;
  /** The top-level program it was loaded for (for error messages). */
  readonly program: string;
  /** That program's link map: requested names and sonames of everything mapped so far. */
  readonly ns: Map<string, Loaded>;
}

class Resolver {
  readonly files = new Map<string, HostFile>();

  constructor(
    private readonly cache: LdCache | undefined,
    private readonly cachePath: string,
    readonly arch: Arch,
    private readonly view: FileView,
    /** extra_libs= directories; libraries found there go to a default directory in the guest. */
    private readonly extraDirs: readonly string[] = [],
    /** A tree's /etc/ld.so.conf folders: what its ld.so.cache would hold, searched where the cache is. */
    private readonly confDirs: readonly string[] = [],
  ) {}

  add(guestPath: string, hostPath: string, reason: string, linkTarget?: string): void {
    if (this.files.has(guestPath)) return;
    this.files.set(guestPath, { guestPath, hostPath, reason, ...(linkTarget ? { linkTarget } : {}) });
  }

  /** Expand $ORIGIN, $LIB and $PLATFORM (also in ${...} form) in one RPATH/RUNPATH entry. */
  private expand(entry: string, origin: string): string {
    return entry.replace(/\$(\{(ORIGIN|LIB|PLATFORM)\}|ORIGIN|LIB|PLATFORM)/g, (_m, _a, braced: string | undefined) => {
      const token = braced ?? _m.slice(1);
      if (token === 'ORIGIN') return origin;
      if (token === 'LIB') return `lib/${this.arch.triplet}`; // Debian's ld.so expands $LIB to the multiarch dir
      return this.arch.platform; // the guest CPU is QEMU's, so the baseline platform name
    });
  }

  /** RPATH/RUNPATH directories of an object, expanded; empty and relative entries (cwd-relative) are skipped. */
  private dirsOf(obj: Loaded, value: string | undefined): string[] {
    if (!value) return [];
    const origin = dirname(obj.path);
    return value
      .split(':')
      .map((e) => this.expand(e, origin))
      .filter((d) => isAbsolute(d))
      .map((d) => posix.normalize(d));
  }

  /** Is the file at `path` an ELF shared object of the right class and machine? (ld.so skips the others.) */
  private async candidate(path: string): Promise<{ elf: ElfFile; real: string } | undefined> {
    let real: string;
    try {
      real = await this.view.real(path);
      if (!(await stat(this.view.host(real))).isFile()) return undefined;
    } catch {
      return undefined;
    }
    try {
      const elf = parseElf(await readFile(this.view.host(real)), path);
      return elf.header.machine === this.arch.machine ? { elf, real } : undefined;
    } catch (err) {
      if (err instanceof ElfError) return undefined; // wrong class, linker script, junk: the loader moves on
      throw err;
    }
  }

  /** Find `name` for `requester` like _dl_map_object: RPATH chain (no RUNPATH), RUNPATH, ld.so.cache, default dirs. */
  private async search(name: string, requester: Loaded): Promise<{ path: string; elf: ElfFile; real: string; how: string } | string[]> {
    const searched: string[] = [];
    const tryDirs = async (dirs: string[], how: string) => {
      for (const dir of dirs) {
        const path = posix.join(dir, name);
        searched.push(dir);
        const c = await this.candidate(path);
        if (c) return { path, ...c, how };
      }
      return undefined;
    };
    if (!requester.elf.dynamic?.runpath) {
      // The requester's RPATH, then its loader's, up to the executable (the root of every chain here).
      for (let l: Loaded | undefined = requester; l; l = l.loader) {
        const found = await tryDirs(this.dirsOf(l, l.elf.dynamic?.rpath), `DT_RPATH of ${l.path}`);
        if (found) return found;
      }
    }
    const runpath = await tryDirs(this.dirsOf(requester, requester.elf.dynamic?.runpath), `DT_RUNPATH of ${requester.path}`);
    if (runpath) return runpath;
    // Where the guest loader will meet these: they are placed in a default directory, searched after RUNPATH.
    const extra = await tryDirs([...this.extraDirs], 'extra_libs directory');
    if (extra) return extra;
    if (((requester.elf.dynamic?.flags1 ?? 0n) & DF_1_NODEFLIB) === 0n) {
      if (this.cache) {
        const hit = ldCacheLookup(this.cache, name, this.arch.cacheFlags);
        searched.push(this.cachePath);
        if (hit) {
          const c = await this.candidate(hit.path);
          if (c) return { path: hit.path, ...c, how: 'ld.so.cache' };
        }
      }
      const conf = await tryDirs([...this.confDirs], LD_SO_CONF);
      if (conf) return conf;
      const dflt = await tryDirs(defaultDirs(this.arch), 'default library directory');
      if (dflt) return dflt;
    }
    return [...new Set(searched)];
  }

  /**
   * Map `names` on behalf of `requester`, then their dependencies breadth-first,
   * in the order glibc maps them (which decides whose RUNPATH finds a library).
   */
  async need(names: readonly string[], requester: Loaded, why: string): Promise<void> {
    const queue = names.map((name) => ({ name, requester, why }));
    for (let item = queue.shift(); item; item = queue.shift()) {
      const obj = await this.map(item.name, item.requester, item.why);
      if (obj) {
        for (const dep of obj.elf.dynamic?.needed ?? []) queue.push({ name: dep, requester: obj, why: `library needed by ${obj.path}` });
      }
    }
  }

  /** Map one DT_NEEDED entry (soname or path); returns the new object, or undefined when it was already mapped. */
  private async map(name: string, requester: Loaded, why: string): Promise<Loaded | undefined> {
    const ns = requester.ns;
    if (ns.has(name)) return undefined;
    let found: { path: string; elf: ElfFile; real: string; how: string } | undefined;
    if (name.includes('/')) {
      const path = posix.normalize(this.expand(name, dirname(requester.path)));
      const c = isAbsolute(path) ? await this.candidate(path) : undefined;
      if (!c) throw missing(name, requester, [dirname(path)], this.view);
      found = { path, ...c, how: 'path in DT_NEEDED' };
    } else {
      const r = await this.search(name, requester);
      if (Array.isArray(r)) throw missing(name, requester, r, this.view);
      found = r;
    }
    const soname = found.elf.dynamic?.soname;
    if (soname && ns.has(soname)) {
      ns.set(name, ns.get(soname)!); // an object already mapped, asked for by another name
      return undefined;
    }
    const obj: Loaded = { path: found.path, elf: found.elf, loader: requester, program: requester.program, ns };
    ns.set(name, obj);
    if (soname) ns.set(soname, obj);
    // The guest has no ld.so.cache: a library the cache found outside the default directories
    // (e.g. /usr/local/lib) goes into one, where the guest's loader will look for it.
    const dflt = defaultDirs(this.arch);
    const relocate =
      (found.how === 'ld.so.cache' || found.how === 'extra_libs directory' || found.how === LD_SO_CONF) && !name.includes('/') && !dflt.includes(dirname(found.path));
    const guestPath = relocate ? posix.join(`/usr/lib/${this.arch.triplet}`, name) : found.path;
    this.add(guestPath, this.view.host(found.real), `${why}, found via ${found.how}${relocate ? ` at ${found.path}` : ''}`);
    return obj;
  }
}

function missing(name: string, requester: Loaded, searched: string[], view: FileView): TailorError {
  const chain = requester.path === requester.program ? requester.path : `${requester.path}, loaded for ${requester.program}`;
  return new TailorError(
    `${name} (needed by ${chain}) not found in ${searched.length ? searched.join(', ') : 'any search directory'}`,
    { hint: view.missingHint(name) },
  );
}

async function readProgram(path: string, view: FileView): Promise<{ elf: ElfFile; real: string }> {
  if (!isAbsolute(path)) throw new UsageError(`host binary "${path}" is not an absolute path`, `write it as /usr/bin/${path}, or use the output of: command -v ${path}`);
  let real: string;
  let data: Buffer;
  try {
    real = await view.real(path);
    data = await readFile(view.host(real));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TailorError(`${view.describe(path)} cannot be read (${code ?? (err as Error).message})`, {
      hint: code === 'ENOENT' ? 'install the package that provides it, or fix the path' : undefined,
    });
  }
  if (data.subarray(0, 2).toString('latin1') === '#!') {
    const interp = data.subarray(2, 200).toString('latin1').split('\n')[0]!.trim();
    throw new UsageError(`${path} is a script (#!${interp}), not an ELF binary`, `package its interpreter instead (app=${interp.split(' ')[0]}) and pass the script as an argument`);
  }
  return { elf: parseElf(data, path), real };
}

function archOf(elf: ElfFile): Arch {
  const arch = ARCHES.find((a) => a.machine === elf.header.machine);
  if (!arch) throw new TailorError(`${elf.what} is for ELF machine ${elf.header.machine}, which Tailor cannot package (x86_64 and aarch64 only)`);
  return arch;
}

/** Minimal /etc files, generated so the image does not leak the host's users or DNS setup. */
const GENERATED_ETC: Record<string, string> = {
  '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
  '/etc/group': 'root:x:0:\nnogroup:x:65534:\n',
  // Only the built-in sources: the host's file names modules (systemd, nis) that are not in the image.
  '/etc/nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n',
  '/etc/hosts': '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n',
  // QEMU user-mode networking's DNS forwarder; the guest init may replace it from --nameserver.
  '/etc/resolv.conf': 'nameserver 10.0.2.3\n',
};

/** Write a generated file into the cache under a content hash (atomic, reused across builds) and return its path. */
async function generatedFile(guestPath: string, content: string): Promise<string> {
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 16);
  const path = cacheDir('host-etc', hash, posix.basename(guestPath));
  try {
    if ((await readFile(path, 'utf8')) === content) return path;
  } catch {
    // not generated yet
  }
  await writeFileAtomic(path, content);
  return path;
}

const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const TLS_LIBS = /^lib(ssl|crypto|gnutls)\.so/;
const STATIC_TLS_SYMBOLS = new Set(['SSL_CTX_new', 'gnutls_init']);

/**
 * Everything the guest needs to run `binaries` (absolute host paths):
 * sorted by guest path, one entry per guest path. Throws a TailorError naming
 * the library and the binary when a library cannot be found.
 */
export async function hostClosure(
  binaries: string[],
  opts: HostClosureOptions = {},
): Promise<{ files: HostFile[] }> {
  if (binaries.length === 0) throw new UsageError('no host binary given', 'name one, e.g. app=/usr/bin/redis-server');
  const cachePath = opts.ldCachePath ?? '/etc/ld.so.cache';
  const view = opts.root ? treeView(opts.root) : hostView;
  const cache = opts.root ? undefined : await readLdCache(cachePath);
  const extraDirs: string[] = [];
  const extraLibs: string[] = [];
  for (const lib of opts.extraLibs ?? []) {
    if (lib.includes('/') && !isAbsolute(lib)) {
      throw new UsageError(`extra_libs entry "${lib}" is neither an absolute path nor a soname`, 'write /usr/lib/x86_64-linux-gnu/libfoo.so.1, libfoo.so.1 or a directory such as /opt/foo/lib');
    }
    const isDir = isAbsolute(lib) && (await stat(view.host(lib)).then((st) => st.isDirectory(), () => false));
    (isDir ? extraDirs : extraLibs).push(isDir ? posix.normalize(lib) : lib);
  }
  let resolver: Resolver | undefined;
  const programs: Loaded[] = [];

  for (const bin of binaries) {
    const { elf, real } = await readProgram(bin, view);
    const arch = archOf(elf);
    resolver ??= new Resolver(cache, cachePath, arch, view, extraDirs, opts.root ? await treeLdConfDirs(opts.root) : []);
    if (resolver.arch !== arch) throw new UsageError(`${bin} is for a different architecture than ${binaries[0]}`, 'package binaries of one architecture per image');
    // The executable's $ORIGIN is its real directory (the kernel's /proc/self/exe), so it lives at its real path.
    // Each program is its own process, so it gets its own link map (ns).
    const program: Loaded = { path: real, elf, program: bin, ns: new Map() };
    programs.push(program);
    resolver.add(real, view.host(real), `application binary ${bin}`);
    if (real !== bin) resolver.add(bin, view.host(bin), `symlink to ${real}`, real);
    if (elf.interpreter) {
      const found = await readProgram(elf.interpreter, view).catch((err: unknown) => {
        throw new TailorError(`interpreter ${elf.interpreter} of ${bin} cannot be read: ${(err as Error).message}`, {
          hint: 'install the C library package (libc6) for this architecture',
        });
      });
      // The kernel maps the interpreter; it is then in the link map under its path and soname.
      const obj: Loaded = { path: elf.interpreter, elf: found.elf, program: bin, ns: program.ns };
      program.ns.set(elf.interpreter, obj);
      if (found.elf.dynamic?.soname) program.ns.set(found.elf.dynamic.soname, obj);
      resolver.add(elf.interpreter, view.host(found.real), `program interpreter of ${bin}`);
    }
    await resolver.need(elf.dynamic?.needed ?? [], program, `library needed by ${bin}`);
  }
  const r = resolver!;

  for (const lib of extraLibs) {
    await r.need([lib], programs[0]!, 'extra_libs=');
  }

  // glibc dlopens NSS modules named in nsswitch.conf; since glibc 2.34 "files" and "dns" are built into libc.
  for (const program of programs) {
    const libc = program.ns.get('libc.so.6');
    if (!libc) continue;
    const builtin = readSymbols(libc.elf, 'dynsym').some((s) => s.name === '_nss_files_getpwnam_r' && s.sectionIndex !== 0);
    if (builtin) continue;
    await r.need(['libnss_files.so.2', 'libnss_dns.so.2'], program, 'NSS module glibc dlopens for nsswitch.conf');
  }

  for (const [guestPath, content] of Object.entries(GENERATED_ETC)) {
    r.add(guestPath, await generatedFile(guestPath, content), 'generated: name service files programs read');
  }

  // TLS users: a TLS library in the closure, or a program with OpenSSL/GnuTLS linked in statically (node).
  const tlsLib = [...r.files.values()].find((f) => TLS_LIBS.test(posix.basename(f.guestPath)));
  const tlsStatic = programs.find((p) =>
    readSymbols(p.elf, 'dynsym').some((s) => STATIC_TLS_SYMBOLS.has(s.name) && s.sectionIndex !== 0),
  );
  const tlsUser = tlsLib ? posix.basename(tlsLib.guestPath) : tlsStatic ? `${tlsStatic.program} (TLS linked in)` : undefined;
  if (tlsUser) {
    try {
      await stat(CA_BUNDLE);
    } catch {
      throw new TailorError(`${tlsUser} needs the CA bundle ${CA_BUNDLE}, which is missing on this host`, {
        hint: 'install it with: apt-get install -y ca-certificates',
      });
    }
    r.add(CA_BUNDLE, await realpath(CA_BUNDLE), `CA certificates for ${tlsUser}`);
  }

  const files = [...r.files.values()].sort((a, b) => (a.guestPath < b.guestPath ? -1 : a.guestPath > b.guestPath ? 1 : 0));
  return { files };
}

/** For callers that print the closure: one line per file. */
export function describeClosure(files: readonly HostFile[]): string {
  return files.map((f) => `${f.guestPath}${f.linkTarget ? ` -> ${f.linkTarget}` : ''}  (${f.reason})`).join('\n');
}
