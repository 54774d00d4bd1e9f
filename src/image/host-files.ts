/**
 * Host programs in the image. A usr.manifest line that links a host ELF file
 * to itself (`/usr/bin/redis-server: ->/usr/bin/redis-server`, OSv's "from the
 * host system") and the app= option bring the program's whole closure —
 * binary, interpreter, libraries, generated /etc files, CA bundle — found by
 * hostClosure. The closure replaces the plain copy the manifest made (a binary
 * reached through a symlink must sit at its real path for $ORIGIN) and merges
 * into the manifest under the module that asked for it.
 *
 * Within a module, the self-linked programs (ELF files with an interpreter, or
 * static) are closed over, and its self-linked shared libraries are loaded
 * into the first program's link map as if it dlopened them, in manifest order
 * (so the JVM's libjava.so finds the libjvm.so listed before it). A module of
 * libraries only (libz) closes over its first library.
 *
 * Merge rules: the same guest path twice is fine when the bytes are the same
 * (a link and a file that both end at the same host file keep the file);
 * different bytes are an error naming both sources. A module's own file wins
 * over a generated /etc default (a module may ship its own /etc/hosts).
 *
 * For a target of another architecture than the host's (arch=aarch64 on an
 * x86-64 host), the same references are found in that architecture's Debian
 * packages, unpacked into a cached tree, and the closures resolve there
 * (foreign-programs.ts).
 *
 * Parent directories are never symlinks here (the rootfs stage adds them as
 * real directories), so /bin and /lib are directories in the image even on a
 * merged-/usr host, where hostClosure gives /bin/ls as a link to /usr/bin/ls.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, posix } from 'node:path';
import { hostArch, hostRunsNatively, type TargetArch } from '../config/arch.ts';
import { elfMachineOf } from './arch-check.ts';
import { foreignPrograms } from './foreign-programs.ts';
import { sha256File } from '../util/sha256.ts';
import { isElfFile, readElfFile } from '../elf/index.ts';
import { TailorError, UsageError } from '../errors.ts';
import type { AppSpec } from '../modules/app.ts';
import { hostClosure, type HostFile } from '../modules/host-closure.ts';
import { imageCommand } from '../modules/index.ts';
import { expandManifest, readManifestFile } from '../modules/manifest.ts';
import { manifestPath, type ModuleDefinition } from '../modules/module-file.ts';
import { manifestVariables } from '../modules/resolve.ts';
import type { ManifestEntry, ManifestSource, ModulePlan, ResolvedModule } from '../modules/types.ts';

/** One self-linked host ELF file in a module's usr.manifest. */
export interface HostReference {
  readonly module: string;
  /** Guest path, which is also the host path the line names (before symlinks are followed). */
  readonly path: string;
  /** A program (has an interpreter, or is static) rather than a shared library. */
  readonly program: boolean;
}

export interface HostFilesInputs {
  readonly plan: ModulePlan;
  /** The selected modules (ModuleSelection.order), whose manifests are scanned for host references. */
  readonly modules: readonly ModuleDefinition[];
  readonly moduleBuildRoot: string;
  /** app=, when given: an implicit module appended last. */
  readonly app?: AppSpec;
  /** extra_libs=: closed over with the app, else with the last module that has host references. */
  readonly extraLibs: readonly string[];
  /** Loader cache override (tests). */
  readonly ldCachePath?: string;
  /** The target; another architecture than the host's takes these files from its Debian packages (foreign-programs.ts). */
  readonly arch?: TargetArch;
}

/** Self-link lines (`/x: ->/x`) of the modules' manifests whose host file is an ELF file, in module and line order. */
export async function hostReferences(modules: readonly ModuleDefinition[], moduleBuildRoot: string): Promise<HostReference[]> {
  const refs: HostReference[] = [];
  for (const def of modules) {
    const file = manifestPath(def);
    if (!file) continue;
    const lines = readManifestFile(file).filter((l) => l.host === `->${l.guest}`);
    const entries = expandManifest(lines, { module: def.name, file, variables: manifestVariables(def, moduleBuildRoot), baseDir: def.dir });
    for (const e of entries) {
      if (e.source.kind !== 'file' || !(await isElfFile(e.source.path))) continue;
      const elf = await readElfFile(e.source.path);
      refs.push({ module: def.name, path: e.guestPath, program: elf.interpreter !== undefined || elf.dynamic === undefined });
    }
  }
  return refs;
}

/**
 * Plain copies (`/x: /host/path`, files: maps) of this host's ELF files, with their host paths: not the
 * host references (refKeys), and not files of the module's own folder or build output, which are its own.
 */
async function hostElfCopies(
  manifest: readonly ManifestEntry[],
  modules: readonly ModuleDefinition[],
  moduleBuildRoot: string,
  refKeys: ReadonlySet<string>,
): Promise<Map<ManifestEntry, string>> {
  const own = new Map(modules.map((m) => [m.name, [m.dir, posix.join(moduleBuildRoot, m.name)]]));
  const machine = hostArch()?.elfMachine;
  const out = new Map<ManifestEntry, string>();
  for (const e of manifest) {
    if (e.source.kind !== 'file' || refKeys.has(`${e.module}\0${e.guestPath}`)) continue;
    const path = e.source.path;
    if ((own.get(e.module) ?? []).some((d) => path.startsWith(`${d}/`))) continue;
    if (machine !== undefined && (await elfMachineOf(path)) === machine) out.set(e, path);
  }
  return out;
}

/** What one hostClosure call covers: a module's programs, and libraries loaded into the first one's link map. */
interface ClosureGroup {
  readonly programs: string[];
  readonly libraries: string[];
}

/** The plan with every host reference and app= replaced by its full closure, and app= as the last module. */
export async function addHostFiles(inputs: HostFilesInputs): Promise<ModulePlan> {
  const { plan, app } = inputs;
  const refs = await hostReferences(inputs.modules, inputs.moduleBuildRoot);

  const groups = new Map<string, ClosureGroup>();
  for (const r of refs) {
    const g = groups.get(r.module) ?? { programs: [], libraries: [] };
    (r.program ? g.programs : g.libraries).push(r.path);
    groups.set(r.module, g);
  }
  if (app) {
    if (plan.order.some((m) => m.name === app.name)) {
      throw new UsageError(`app=${app.command}: a module named ${app.name} is already in the image`, 'drop that module from image=/modules=, or set app= to a differently named binary');
    }
    groups.set(app.name, { programs: [app.binary], libraries: [] });
  }
  const extraLibsOwner = app ? app.name : [...groups.keys()].pop();
  if (inputs.extraLibs.length > 0 && !extraLibsOwner) {
    throw new UsageError(`extra_libs=${inputs.extraLibs.join(',')}: no host program in the image to load them`, 'add app=/path/to/program, or a module with a /usr/bin/x: ->/usr/bin/x line');
  }
  const whoOf = (module: string) => (module === app?.name ? `app=${app.command}` : `module ${module}`);
  const extraLibsOf = (module: string) => (module === extraLibsOwner ? inputs.extraLibs : []);

  const refKeys = new Set(refs.map((r) => `${r.module}\0${r.path}`));

  // Another architecture: the same files from its Debian packages, unpacked in a tree the closures resolve in;
  // plain copies of host programs and libraries (postgres's plpgsql.so) are taken from there too.
  const foreignArch = inputs.arch && !hostRunsNatively(inputs.arch) ? inputs.arch : undefined;
  const copies = foreignArch ? await hostElfCopies(plan.manifest, inputs.modules, inputs.moduleBuildRoot, refKeys) : new Map<ManifestEntry, string>();
  const requested = new Map<string, string[]>();
  for (const [module, g] of groups) requested.set(module, [...g.programs, ...g.libraries, ...extraLibsOf(module).filter((l) => isAbsolute(l))]);
  for (const [e, path] of copies) requested.set(e.module, [...(requested.get(e.module) ?? []), path]);
  const foreign =
    foreignArch && requested.size > 0
      ? await foreignPrograms(
          [...requested].map(([module, paths]) => ({
            who: whoOf(module),
            paths,
            declared: Object.keys(inputs.modules.find((m) => m.name === module)?.packages ?? {}),
          })),
          foreignArch,
        )
      : undefined;

  // Claims on each guest path, in order: the modules' own entries (without the plain copies
  // the host references made, which their closures replace), then the closures.
  const claims = new Map<string, Claim[]>();
  const claim = (c: Claim) => claims.set(c.entry.guestPath, [...(claims.get(c.entry.guestPath) ?? []), c]);
  for (const e of plan.manifest) {
    if (refKeys.has(`${e.module}\0${e.guestPath}`)) continue;
    const copied = copies.get(e);
    const entry = copied && foreign ? { ...e, source: { kind: 'file' as const, path: await foreign.fileOf(copied, whoOf(e.module)) } } : e;
    claim({ entry, why: `${e.module}'s usr.manifest`, generated: false });
  }
  for (const [module, group] of groups) {
    // Libraries only: the first one stands in for the program, and is also loaded by path so
    // that it is in the link map under its soname when the later ones need it.
    let binaries = group.programs.length > 0 ? group.programs : [group.libraries[0]!];
    let dlopened = [...group.libraries, ...extraLibsOf(module)];
    const located = new Map<string, string>();
    if (foreign) {
      const locate = async (p: string) => {
        if (!located.has(p)) located.set(p, await foreign.locate(p, whoOf(module)));
        return located.get(p)!;
      };
      binaries = await Promise.all(binaries.map(locate));
      dlopened = await Promise.all(dlopened.map((l) => (isAbsolute(l) ? locate(l) : l)));
    }
    let files: HostFile[];
    try {
      ({ files } = await hostClosure(binaries, {
        extraLibs: dlopened,
        ...(inputs.ldCachePath ? { ldCachePath: inputs.ldCachePath } : {}),
        ...(foreign ? { root: foreign.tree.root } : {}),
      }));
    } catch (err) {
      if (!(err instanceof TailorError)) throw err;
      throw new TailorError(`${whoOf(module)}: ${err.message}`, { hint: err.hint, exitCode: err.exitCode, cause: err });
    }
    // A program the command line names by a path its package does not use (/usr/bin/x for /bin/x): a link there.
    for (const p of group.programs) {
      const at = located.get(p);
      if (at && at !== p) files.push({ guestPath: p, hostPath: p, reason: `${at} of the ${inputs.arch!.debianArch} package, under the name ${whoOf(module)} uses`, linkTarget: at });
    }
    for (const f of files) {
      const source: ManifestSource = f.linkTarget ? { kind: 'symlink', target: f.linkTarget } : { kind: 'file', path: f.hostPath };
      claim({ entry: { guestPath: f.guestPath, source, module }, why: `${module}: ${f.reason}`, generated: f.reason.startsWith('generated') });
    }
  }

  const manifest: ManifestEntry[] = [];
  for (const [path, list] of [...claims.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    manifest.push((await settle(path, list, claims)).entry);
  }
  const order: ResolvedModule[] = [...plan.order];
  if (app) {
    order.push({ name: app.name, dir: '', description: `app=${app.command}: host program with its library closure`, requires: [], kernelNeeds: [], run: app.command });
  }
  const command = app ? imageCommand(order) : plan.command;
  return { order, manifest, kernelNeeds: plan.kernelNeeds, ...(command !== undefined ? { command } : {}) };
}

/** A manifest entry with where it came from, for conflict messages. */
interface Claim {
  readonly entry: ManifestEntry;
  readonly why: string;
  /** A generated default (/etc/passwd ...), which a module's own file may replace. */
  readonly generated: boolean;
}

/** The one entry a guest path gets from its claims, or an error naming two that differ. */
async function settle(path: string, list: readonly Claim[], claims: ReadonlyMap<string, readonly Claim[]>): Promise<Claim> {
  let winner = list[0]!;
  for (const next of list.slice(1)) {
    if (await sameSource(winner.entry.source, next.entry.source)) continue; // the first owner keeps the attribution
    if (next.generated && !winner.generated) continue; // the module's own file replaces the generated default
    if (winner.generated && !next.generated) {
      winner = next;
      continue;
    }
    const a = await linkedHostFile(winner.entry, claims);
    const b = await linkedHostFile(next.entry, claims);
    if (a !== undefined && a === b) {
      if (next.entry.source.kind === 'file') winner = next; // a file and a link to the same bytes: keep the file
      continue;
    }
    throw new UsageError(
      `two different files for ${path}: ${describe(winner.entry.source)} (${winner.why}) and ${describe(next.entry.source)} (${next.why})`,
      'keep one of them: drop one module, or make both use the same host file',
    );
  }
  return winner;
}

/** The real host file an entry ends at: a file's own, or (one level) the file a guest link points to. */
async function linkedHostFile(entry: ManifestEntry, claims: ReadonlyMap<string, readonly Claim[]>): Promise<string | undefined> {
  let source = entry.source;
  if (source.kind === 'symlink') {
    const target = posix.resolve(posix.dirname(entry.guestPath), source.target);
    source = claims.get(target)?.[0]?.entry.source ?? source;
  }
  return source.kind === 'file' ? realpath(source.path).catch(() => undefined) : undefined;
}

function describe(s: ManifestSource): string {
  return s.kind === 'file' ? `host file ${s.path}` : s.kind === 'symlink' ? `a link to ${s.target}` : 'a directory';
}

/** Would both sources put the same thing at one guest path? (Same file, same link, or same bytes.) */
async function sameSource(a: ManifestSource, b: ManifestSource): Promise<boolean> {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'symlink') return a.target === (b as { target: string }).target;
  if (a.kind === 'dir') return true;
  const pa = a.path;
  const pb = (b as { path: string }).path;
  if (pa === pb || (await realpath(pa)) === (await realpath(pb))) return true;
  return (await sha256File(pa)) === (await sha256File(pb));
}
