/**
 * Stage 2: the image's modules. image=a,b plus modules= (with !name removals),
 * the transitive closure of requires (dependencies first), OSv's conditional
 * requires and provides, cycle detection, run configurations (image=a.CONFIG),
 * then the merged manifest, kernel needs and command.
 *
 * A requirement NAME is met, in this order, by the module called NAME, by a
 * module in the image that provides NAME, or by the only module that provides
 * it (in the first search folder that has one: a project module beats a
 * built-in one); several candidates is an error naming them.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { BuildConfig } from '../config/types.ts';
import { UsageError } from '../errors.ts';
import { didYouMean } from '../config/suggest.ts';
import { appReplacesDefaultImage } from './app.ts';
import { ModuleLibrary } from './lookup.ts';
import { expandFileMap } from './file-map.ts';
import { expandManifest, readManifestFile } from './manifest.ts';
import { manifestPath, type ModuleDefinition } from './module-file.ts';
import { defaultConfig } from './run-config.ts';
import type { ManifestEntry, ModulePlan, ResolvedModule } from './types.ts';

export interface ModuleSelection {
  readonly library: ModuleLibrary;
  /** Requested names (image= then modules=), in order, removals applied. */
  readonly requested: readonly string[];
  /** Dependencies first. */
  readonly order: readonly ModuleDefinition[];
  /** For `tailor modules deps`: each module's direct requires as resolved. */
  readonly edges: ReadonlyMap<string, readonly string[]>;
  /** Run configuration chosen with image=MODULE.CONFIG, by module. */
  readonly configs: ReadonlyMap<string, string>;
  /** Requirements met through provides: the name asked for → the module that provides it. */
  readonly provided: ReadonlyMap<string, string>;
  /** One line each for the user (a selected module that shadows a built-in one). */
  readonly notes: readonly string[];
}

/** Resolve which modules the image holds and in what order, without touching their files. */
export function selectModules(config: BuildConfig): ModuleSelection {
  const library = new ModuleLibrary(config.cwd, config.modulePaths);
  const requested: string[] = [];
  const removed = new Set<string>();
  const configs = new Map<string, string>();
  // image=app.CONFIG: a run configuration of module app (unless a module is called app.CONFIG).
  const splitConfig = (entry: string): [string, string | undefined] => {
    const dot = entry.lastIndexOf('.');
    if (dot <= 0 || library.has(entry) || !library.has(entry.slice(0, dot))) return [entry, undefined];
    return [entry.slice(0, dot), entry.slice(dot + 1)];
  };
  const add = (entry: string) => {
    if (entry.startsWith('!')) {
      removed.add(splitConfig(entry.slice(1))[0]);
      return;
    }
    let config: string | undefined;
    if (isAbsolute(entry)) {
      if (!existsSync(join(entry, 'module.yaml')) && !existsSync(join(entry, 'module.py'))) throw new UsageError(`modules=${entry}: no module.yaml in that folder`);
      entry = library.addPath(entry).name;
    } else [entry, config] = splitConfig(entry);
    if (config !== undefined) chooseConfig(library.require(entry, () => new UsageError(`no module named ${entry}`)), config, configs);
    if (!requested.includes(entry)) requested.push(entry);
  };
  // app= alone means "this host program": the default image= (native-example) is left out.
  const images = appReplacesDefaultImage(config) ? [] : (config.options.image as string[]);
  for (const name of images) if (name !== 'empty') add(name);
  for (const name of config.options.modules as string[]) add(name);
  const roots = requested.filter((n) => !removed.has(n));
  for (const r of roots) {
    const def = library.get(r);
    const names = Object.keys(def?.configs ?? {});
    if (def && !configs.has(r) && names.length > 0 && !names.includes(defaultConfig)) {
      throw new UsageError(`module ${r} has no default run configuration`, `choose one: ${names.map((n) => `image=${r}.${n}`).join(' or ')}`);
    }
  }

  let present = new Set<string>();
  let result: ReturnType<typeof closure>;
  // Conditional requires can add modules, which can enable more conditions: repeat to a fixpoint.
  for (;;) {
    result = closure(roots, library, present, removed);
    const names = new Set(result.order.map((m) => m.name));
    if (names.size === present.size && [...names].every((n) => present.has(n))) break;
    present = names;
  }
  const notes = result.order.flatMap((m) => library.shadows.get(m.name) ?? []);
  return { library, requested: roots, order: result.order, edges: result.edges, configs, provided: result.provided, notes };
}

function chooseConfig(def: ModuleDefinition, config: string, into: Map<string, string>): void {
  const names = Object.keys(def.configs);
  if (!names.includes(config)) {
    throw new UsageError(
      `image=${def.name}.${config}: module ${def.name} has no run configuration ${config}`,
      names.length ? `its configurations: ${names.join(', ')} (image=${def.name}.${names[0]})` : `${def.name} has no run configurations (module.yaml run:/configs:)`,
    );
  }
  const earlier = into.get(def.name);
  if (earlier !== undefined && earlier !== config) throw new UsageError(`module ${def.name}: two run configurations asked for (${earlier} and ${config})`, 'name the module once in image=/modules=');
  into.set(def.name, config);
}

function closure(roots: readonly string[], library: ModuleLibrary, present: ReadonlySet<string>, removed: ReadonlySet<string>) {
  const order: ModuleDefinition[] = [];
  const edges = new Map<string, string[]>();
  const provided = new Map<string, string>();
  const state = new Map<string, 'visiting' | 'done'>();
  const inImage = (n: string) => present.has(n) || roots.includes(n);
  /** The module that meets requirement `name`: the one called so, else a provider (OSv's provides). */
  const meet = (name: string, requiredBy?: string): ModuleDefinition => {
    const who = requiredBy ? ` (required by ${requiredBy})` : '';
    const def = library.get(name);
    if (def) return def;
    const providers = library.providersOf(name).filter((p) => !removed.has(p.name));
    const chosen = providers.filter((p) => inImage(p.name));
    // None in the image: the providers of the first search folder that has any (a project module beats a built-in one).
    const top = Math.min(...providers.map((p) => library.rootIndex(p.name)));
    const pick = chosen.length > 0 ? chosen : providers.filter((p) => library.rootIndex(p.name) === top);
    if (pick.length > 1) {
      throw new UsageError(
        `${name}${who} is provided by several modules: ${pick.map((p) => p.name).join(', ')}`,
        `put the one you want in the image, e.g. modules=${pick[0]!.name}`,
      );
    }
    if (pick.length === 1) {
      provided.set(name, pick[0]!.name);
      return pick[0]!;
    }
    return library.require(name, () =>
      new UsageError(`no module named ${name}${who}`, didYouMean(name, library.names()) ?? `modules are looked up in ${library.roots.join(', ')}`),
    );
  };
  const visit = (wanted: string, path: readonly string[], requiredBy?: string) => {
    const def = meet(wanted, requiredBy);
    const name = def.name;
    if (state.get(name) === 'done') return name;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      throw new UsageError(`module dependency cycle: ${cycle.join(' -> ')}`, 'remove one of these requires');
    }
    state.set(name, 'visiting');
    const wantedDeps = [
      ...def.requires,
      ...def.conditional.filter((c) => inImage(c.ifPresent)).map((c) => c.require),
    ].filter((d) => !removed.has(d));
    const deps: string[] = [];
    for (const dep of wantedDeps) deps.push(visit(dep, [...path, name], name));
    edges.set(name, deps);
    state.set(name, 'done');
    order.push(def);
    return name;
  };
  for (const r of roots) visit(r, []);
  return { order, edges, provided };
}

/** Variables usr.manifest may use. MODULE_BUILD is where a module's build command writes. */
export function manifestVariables(def: ModuleDefinition, buildRoot: string): Record<string, string> {
  return { MODULE_DIR: def.dir, MODULE_BUILD: join(buildRoot, def.name) };
}

/**
 * The full plan: files (manifests and file maps are read here, after module
 * builds have run, since a build may write them), kernel needs and the
 * default command line (every module's run_on_init first, then the runs).
 * With requireFiles false (a preview), what a build has yet to make is listed
 * in `pending` instead of failing.
 */
export function planModules(selection: ModuleSelection, moduleBuildRoot: string, options: { requireFiles?: boolean } = {}): ModulePlan {
  const requireFiles = options.requireFiles ?? true;
  const byPath = new Map<string, ManifestEntry>();
  const notes = [...selection.notes];
  const pending: string[] = [];
  for (const def of selection.order) {
    const variables = manifestVariables(def, moduleBuildRoot);
    const entries: ManifestEntry[] = [];
    const file = manifestPath(def);
    if (file) {
      entries.push(...expandManifest(readManifestFile(file), { module: def.name, file, variables, baseDir: def.dir, requireFiles, notes, pending }));
    } else if (def.build && !requireFiles) {
      pending.push(`${join(def.dir, 'usr.manifest')}: read after the build, if it writes one`);
    }
    for (const map of def.files) {
      const mapped = expandFileMap(map, { module: def.name, dir: def.dir, variables, requireFiles });
      if (mapped) entries.push(...mapped);
      else pending.push(`${map.where}: ${map.from} -> ${map.to} (made by the build)`);
    }
    for (const e of entries) byPath.set(e.guestPath, e); // later modules override earlier ones
  }
  const manifest = [...byPath.values()].sort((a, b) => (a.guestPath < b.guestPath ? -1 : a.guestPath > b.guestPath ? 1 : 0));
  const kernelNeeds = [...new Set(selection.order.flatMap((m) => m.kernel))].sort();
  const order: ResolvedModule[] = selection.order.map((m) => {
    const config = selection.configs.get(m.name) ?? defaultConfig;
    return {
      name: m.name,
      dir: m.dir,
      description: m.description,
      requires: selection.edges.get(m.name) ?? [],
      kernelNeeds: m.kernel,
      run: m.configs[config]?.command,
      ...(selection.configs.has(m.name) ? { config } : {}),
      runOnInit: m.runOnInit,
      build: m.build,
    };
  });
  const command = imageCommand(order);
  return { order, manifest, kernelNeeds, notes, ...(requireFiles ? {} : { pending }), ...(command !== undefined ? { command } : {}) };
}

/** The image's command line: every module's run_on_init commands (dependency order), then every module's run. */
export function imageCommand(order: readonly ResolvedModule[]): string | undefined {
  return joinCommands([...order.flatMap((m) => m.runOnInit ?? []), ...order.flatMap((m) => (m.run ? [m.run] : []))]);
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
