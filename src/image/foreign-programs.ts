/**
 * arch= another architecture than the host's: the host programs and
 * libraries modules name (self-linked manifest lines, app=, extra_libs=
 * paths, plain copies of host ELF files) come from that architecture's
 * Debian packages instead of this host's files. The packages are those that ship the named files here
 * (dpkg -S) plus the module's packages: map; they are fetched with their
 * dependency closure into a cached tree (modules/package-tree.ts), and each
 * named file is found in that tree under its own path (or its multiarch and
 * merged-/usr equivalent).
 */
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { TargetArch } from '../config/arch.ts';
import { TailorError } from '../errors.ts';
import { hostPackagesOf, locateInTree, packageTree, type PackageTree } from '../modules/package-tree.ts';
import { hostPathIn, realpathIn } from '../util/rooted-path.ts';

/** One module's (or app='s) host files. */
export interface ForeignRequest {
  /** How messages name who asked: `module redis`, `app=/usr/bin/x`. */
  readonly who: string;
  /** Host paths of ELF files (programs, libraries, extra_libs= files). */
  readonly paths: readonly string[];
  /** The module's packages: map (package names), always fetched. */
  readonly declared: readonly string[];
}

export interface ForeignPrograms {
  readonly tree: PackageTree;
  /** The tree path of a host path `who` named; throws naming the file, who asked and the packages searched. */
  locate(hostPath: string, who: string): Promise<string>;
  /** The host file (inside the tree, symlinks followed) standing for a host path `who` named. */
  fileOf(hostPath: string, who: string): Promise<string>;
}

/** Fetches (or finds in the cache) the target's packages for every request. */
export async function foreignPrograms(requests: readonly ForeignRequest[], arch: TargetArch): Promise<ForeignPrograms> {
  // Folders (extra_libs=/opt/foo/lib) are searched in the tree as they are: no package owns a folder alone.
  const files: string[] = [];
  for (const r of requests) for (const p of r.paths) if (!(await isDirectory(p))) files.push(p);
  const owners = await hostPackagesOf(files);
  const packages = new Set<string>();
  for (const r of requests) {
    r.declared.forEach((p) => packages.add(p));
    const unowned = r.paths.filter((p) => owners.get(p)?.length === 0);
    if (unowned.length > 0 && r.declared.length === 0) {
      const absent = [];
      for (const p of unowned) if (!(await exists(p))) absent.push(p);
      if (absent.length > 0) {
        throw new TailorError(`arch=${arch.name}: ${r.who}: ${absent.join(', ')} is not on this host, where Tailor learns which Debian package ships it (dpkg -S)`, {
          hint: `install that package on this host (its ${arch.debianArch} build goes into the image), or name it in the module's packages: (e.g. PACKAGE: ${absent[0]})`,
        });
      }
      throw new TailorError(`arch=${arch.name}: ${r.who}: no Debian package on this host ships ${unowned.join(', ')} (dpkg -S), so Tailor cannot fetch its ${arch.debianArch} build`, {
        hint: `install the Debian package that ships it on this host, or name that package in the module's packages: (e.g. PACKAGE: ${unowned[0]}), or build the program from source with a build: command`,
      });
    }
    for (const p of r.paths) owners.get(p)?.forEach((o) => packages.add(o));
  }
  const tree = await packageTree([...packages], arch);
  const locate = async (hostPath: string, who: string): Promise<string> => {
    const found = await locateInTree(tree.root, hostPath, arch);
    if (found) return found;
    const from = owners.get(hostPath)?.length ? owners.get(hostPath)! : tree.requested;
    throw new TailorError(`arch=${arch.name}: ${who}: ${hostPath} is not in the ${arch.debianArch} package${from.length > 1 ? 's' : ''} ${from.join(', ')} (unpacked in ${tree.root})`, {
      hint: `the ${arch.debianArch} package ships it under another path, or another package ships it: name that package in the module's packages:, or build the program from source with a build: command`,
    });
  };
  return {
    tree,
    locate,
    fileOf: async (hostPath, who) => hostPathIn(tree.root, await realpathIn(tree.root, await locate(hostPath, who))),
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function isDirectory(path: string): Promise<boolean> {
  return isAbsolute(path) && (await stat(path).then((s) => s.isDirectory(), () => false));
}
