/**
 * Host programs in the image. A usr.manifest line that links a host ELF file
 * to itself (`/usr/bin/redis-server: ->/usr/bin/redis-server`, OSv's "from the
 * host system") and the app= option bring the program's whole closure —
 * binary, interpreter, libraries, generated /etc files, CA bundle — found by
 * hostClosure. The closure replaces the plain copy the manifest made (a binary
 * reached through a symlink must sit at its real path for $ORIGIN) and merges
 * into the manifest under the module that asked for it.
 *
 * Merge rules: the same guest path twice is fine when the bytes are the same;
 * different bytes are an error naming both sources. A module's own file wins
 * over a generated /etc default (a module may ship its own /etc/hosts).
 *
 * Parent directories are never symlinks here (the rootfs stage adds them as
 * real directories), so /bin and /lib are directories in the image even on a
 * merged-/usr host, where hostClosure gives /bin/ls as a link to /usr/bin/ls.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { TailorError, UsageError } from '../errors.ts';
import type { AppSpec } from '../modules/app.ts';
import { hostClosure, type HostFile } from '../modules/host-closure.ts';
import { joinCommands } from '../modules/index.ts';
import { expandManifest, readManifestFile } from '../modules/manifest.ts';
import type { ModuleDefinition } from '../modules/module-file.ts';
import { manifestVariables } from '../modules/resolve.ts';
import type { ManifestEntry, ManifestSource, ModulePlan, ResolvedModule } from '../modules/types.ts';

/** One self-linked host ELF file in a module's usr.manifest. */
export interface HostReference {
  readonly module: string;
  /** Guest path, which is also the host path the line names (before symlinks are followed). */
  readonly path: string;
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
}

/** Self-link lines (`/x: ->/x`) of the modules' manifests whose host file is an ELF file, in module order. */
export async function hostReferences(modules: readonly ModuleDefinition[], moduleBuildRoot: string): Promise<HostReference[]> {
  const refs: HostReference[] = [];
  for (const def of modules) {
    if (!def.hasManifest) continue;
    const file = join(def.dir, 'usr.manifest');
    const lines = readManifestFile(file).filter((l) => l.host === `->${l.guest}`);
    const entries = expandManifest(lines, { module: def.name, file, variables: manifestVariables(def, moduleBuildRoot), baseDir: def.dir });
    for (const e of entries) {
      if (e.source.kind === 'file' && (await isElf(e.source.path))) refs.push({ module: def.name, path: e.guestPath });
    }
  }
  return refs;
}

/** The plan with every host reference and app= replaced by its full closure, and app= as the last module. */
export async function addHostFiles(inputs: HostFilesInputs): Promise<ModulePlan> {
  const { plan, app } = inputs;
  const refs = await hostReferences(inputs.modules, inputs.moduleBuildRoot);

  // Programs to close over, grouped by the module they belong to (module order, app last).
  const groups = new Map<string, string[]>();
  for (const r of refs) groups.set(r.module, [...(groups.get(r.module) ?? []), r.path]);
  if (app) {
    if (plan.order.some((m) => m.name === app.name)) {
      throw new UsageError(`app=${app.command}: a module named ${app.name} is already in the image`, 'drop that module from image=/modules=, or set app= to a differently named binary');
    }
    groups.set(app.name, [app.binary]);
  }
  const extraLibsOwner = app ? app.name : [...groups.keys()].pop();
  if (inputs.extraLibs.length > 0 && !extraLibsOwner) {
    throw new UsageError(`extra_libs=${inputs.extraLibs.join(',')}: no host program in the image to load them`, 'add app=/path/to/program, or a module with a /usr/bin/x: ->/usr/bin/x line');
  }

  // Start from the manifest without the plain copies the host references made; their closures replace them.
  const merged = new Map<string, Owned>();
  const refKeys = new Set(refs.map((r) => `${r.module}\0${r.path}`));
  for (const e of plan.manifest) {
    if (!refKeys.has(`${e.module}\0${e.guestPath}`)) merged.set(e.guestPath, { entry: e, why: `${e.module}'s usr.manifest`, generated: false });
  }

  for (const [module, binaries] of groups) {
    let files: HostFile[];
    try {
      ({ files } = await hostClosure(binaries, {
        extraLibs: module === extraLibsOwner ? inputs.extraLibs : [],
        ...(inputs.ldCachePath ? { ldCachePath: inputs.ldCachePath } : {}),
      }));
    } catch (err) {
      if (err instanceof TailorError) throw new TailorError(`${module === app?.name ? `app=${app.command}` : `module ${module}`}: ${err.message}`, { hint: err.hint, exitCode: err.exitCode, cause: err });
      throw err;
    }
    for (const f of files) await mergeOne(merged, module, f);
  }

  const manifest = [...merged.values()].map((o) => o.entry).sort((a, b) => (a.guestPath < b.guestPath ? -1 : a.guestPath > b.guestPath ? 1 : 0));
  const order: ResolvedModule[] = [...plan.order];
  if (app) {
    order.push({ name: app.name, dir: '', description: `app=${app.command}: host program with its library closure`, requires: [], kernelNeeds: [], run: app.command });
  }
  const command = app ? joinCommands(order.flatMap((m) => (m.run ? [m.run] : []))) : plan.command;
  return { order, manifest, kernelNeeds: plan.kernelNeeds, ...(command !== undefined ? { command } : {}) };
}

/** A manifest entry with where it came from, for conflict messages. */
interface Owned {
  readonly entry: ManifestEntry;
  readonly why: string;
  /** A generated default (/etc/passwd ...), which a module's own file may replace. */
  readonly generated: boolean;
}

async function mergeOne(merged: Map<string, Owned>, module: string, f: HostFile): Promise<void> {
  const source: ManifestSource = f.linkTarget ? { kind: 'symlink', target: f.linkTarget } : { kind: 'file', path: f.hostPath };
  const generated = f.reason.startsWith('generated');
  const incoming: Owned = { entry: { guestPath: f.guestPath, source, module }, why: `${module}: ${f.reason}`, generated };
  const prev = merged.get(f.guestPath);
  if (!prev) {
    merged.set(f.guestPath, incoming);
    return;
  }
  if (await sameSource(prev.entry.source, source)) return; // first owner keeps the attribution
  if (generated && !prev.generated) return; // the module's own file replaces the generated default
  throw new UsageError(
    `two different files for ${f.guestPath}: ${describe(prev.entry.source)} (${prev.why}) and ${describe(source)} (${incoming.why})`,
    'keep one of them: drop one module, or make both use the same host file',
  );
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

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function isElf(path: string): Promise<boolean> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return false;
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return bytesRead === 4 && buf.toString('latin1') === '\x7fELF';
  } finally {
    await fh.close();
  }
}
