/**
 * Stage 2: the image's modules. image=a,b plus modules= (with !name removals),
 * the transitive closure of requires (dependencies first), OSv's conditional
 * requires, cycle detection, then the merged manifest, kernel needs and command.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { BuildConfig } from '../config/types.ts';
import { UsageError } from '../errors.ts';
import { didYouMean } from '../config/suggest.ts';
import { appReplacesDefaultImage } from './app.ts';
import { ModuleLibrary } from './lookup.ts';
import { expandManifest, readManifestFile } from './manifest.ts';
import type { ModuleDefinition } from './module-file.ts';
import type { ManifestEntry, ModulePlan, ResolvedModule } from './types.ts';

export interface ModuleSelection {
  readonly library: ModuleLibrary;
  /** Requested names (image= then modules=), in order, removals applied. */
  readonly requested: readonly string[];
  /** Dependencies first. */
  readonly order: readonly ModuleDefinition[];
  /** For `tailor modules deps`: each module's direct requires as resolved. */
  readonly edges: ReadonlyMap<string, readonly string[]>;
}

/** Resolve which modules the image holds and in what order, without touching their files. */
export function selectModules(config: BuildConfig): ModuleSelection {
  const library = new ModuleLibrary(config.cwd, config.modulePaths);
  const requested: string[] = [];
  const removed = new Set<string>();
  const add = (entry: string) => {
    if (entry.startsWith('!')) {
      removed.add(entry.slice(1));
      return;
    }
    if (isAbsolute(entry)) {
      if (!existsSync(join(entry, 'module.yaml'))) throw new UsageError(`modules=${entry}: no module.yaml in that folder`);
      entry = library.addPath(entry).name;
    }
    if (!requested.includes(entry)) requested.push(entry);
  };
  // app= alone means "this host program": the default image= (native-example) is left out.
  const images = appReplacesDefaultImage(config) ? [] : (config.options.image as string[]);
  for (const name of images) if (name !== 'empty') add(name);
  for (const name of config.options.modules as string[]) add(name);
  const roots = requested.filter((n) => !removed.has(n));

  let present = new Set<string>();
  let order: ModuleDefinition[] = [];
  let edges = new Map<string, string[]>();
  // Conditional requires can add modules, which can enable more conditions: repeat to a fixpoint.
  for (;;) {
    const result = closure(roots, library, present, removed);
    order = result.order;
    edges = result.edges;
    const names = new Set(order.map((m) => m.name));
    if (names.size === present.size && [...names].every((n) => present.has(n))) break;
    present = names;
  }
  return { library, requested: roots, order, edges };
}

function closure(roots: readonly string[], library: ModuleLibrary, present: ReadonlySet<string>, removed: ReadonlySet<string>) {
  const order: ModuleDefinition[] = [];
  const edges = new Map<string, string[]>();
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: readonly string[], requiredBy?: string) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      throw new UsageError(`module dependency cycle: ${cycle.join(' -> ')}`, 'remove one of these requires');
    }
    const def = library.get(name);
    if (!def) {
      const who = requiredBy ? ` (required by ${requiredBy})` : '';
      throw new UsageError(`no module named ${name}${who}`, didYouMean(name, library.names()) ?? `modules are looked up in ${library.roots.join(', ')}`);
    }
    state.set(name, 'visiting');
    const deps = [
      ...def.requires,
      ...def.conditional.filter((c) => present.has(c.ifPresent) || roots.includes(c.ifPresent)).map((c) => c.require),
    ].filter((d) => !removed.has(d));
    edges.set(name, deps);
    for (const dep of deps) visit(dep, [...path, name], name);
    state.set(name, 'done');
    order.push(def);
  };
  for (const r of roots) visit(r, []);
  return { order, edges };
}

/** Variables usr.manifest may use. MODULE_BUILD is where a module's build command writes. */
export function manifestVariables(def: ModuleDefinition, buildRoot: string): Record<string, string> {
  return { MODULE_DIR: def.dir, MODULE_BUILD: join(buildRoot, def.name) };
}

/**
 * The full plan: files (after module builds have run, since manifests may
 * name built files), kernel needs and the default command line.
 */
export function planModules(selection: ModuleSelection, moduleBuildRoot: string, options: { requireFiles?: boolean } = {}): ModulePlan {
  const byPath = new Map<string, ManifestEntry>();
  for (const def of selection.order) {
    if (!def.hasManifest) continue;
    const file = join(def.dir, 'usr.manifest');
    const entries = expandManifest(readManifestFile(file), {
      module: def.name,
      file,
      variables: manifestVariables(def, moduleBuildRoot),
      baseDir: def.dir,
      requireFiles: options.requireFiles ?? true,
    });
    for (const e of entries) byPath.set(e.guestPath, e); // later modules override earlier ones
  }
  const manifest = [...byPath.values()].sort((a, b) => (a.guestPath < b.guestPath ? -1 : a.guestPath > b.guestPath ? 1 : 0));
  const kernelNeeds = [...new Set(selection.order.flatMap((m) => m.kernel))].sort();
  const order: ResolvedModule[] = selection.order.map((m) => ({
    name: m.name,
    dir: m.dir,
    description: m.description,
    requires: selection.edges.get(m.name) ?? [],
    kernelNeeds: m.kernel,
    run: m.run,
    build: m.build,
  }));
  return { order, manifest, kernelNeeds, command: joinCommands(order.flatMap((m) => (m.run ? [m.run] : []))) };
}

/**
 * Join run commands with OSv's `;` unless a command already ends in a separator
 * (`&`, `&!`, `;`, `!`). The last command runs in the foreground: a trailing
 * `&`/`&!` is dropped there, so a module that backgrounds its server beside an
 * application (`/httpserver &!`) keeps the VM up when it is the image's last one.
 */
export function joinCommands(commands: readonly string[]): string | undefined {
  if (commands.length === 0) return undefined;
  return commands
    .map((c, i) =>
      i === commands.length - 1 ? c.trim().replace(/\s*&!?\s*$/, '') : /(&!?|;|!)\s*$/.test(c) ? c.trim() : `${c.trim()} ;`,
    )
    .join(' ');
}
