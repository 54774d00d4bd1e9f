/** Where modules are found: project ./modules, extra paths, then Tailor's built-in modules/. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UsageError } from '../errors.ts';
import { repoRoot } from '../util/paths.ts';
import { readModuleFile, type ModuleDefinition } from './module-file.ts';

export const builtinModuleDir = join(repoRoot, 'modules');

/** The error for a folder that holds OSv's module.py but no module.yaml: it names the import command. */
export function osvModuleError(dir: string, name?: string): UsageError {
  const shown = relative(process.cwd(), dir) || '.';
  return new UsageError(
    `${name ? `module ${name}: ` : ''}${dir} has an OSv module.py but no module.yaml`,
    `translate it once with: tailor modules import ${shown.startsWith('..') ? dir : shown}`,
  );
}

export class ModuleLibrary {
  private readonly byName = new Map<string, ModuleDefinition>();
  /** Index in roots of the folder each module was found in (addPath: 0). */
  private readonly rootOf = new Map<string, number>();
  /** Folders with module.py and no module.yaml (OSv modules not imported yet), by folder name. */
  private readonly osvOnly = new Map<string, string>();
  /** Search roots in lookup order (earlier wins). */
  readonly roots: readonly string[];
  /** Project or extra-path modules that hide a built-in one of the same name: name → one line saying so. */
  readonly shadows = new Map<string, string>();

  constructor(cwd: string, extraPaths: readonly string[]) {
    this.roots = [join(cwd, 'modules'), ...extraPaths, builtinModuleDir];
    for (const [index, root] of this.roots.entries()) {
      if (!existsSync(root)) continue;
      // A path may be one module folder itself, or a folder of modules.
      const dirs = existsSync(join(root, 'module.yaml')) || existsSync(join(root, 'module.py'))
        ? [root]
        : readdirSync(root).sort().map((n) => join(root, n)).filter((d) => isDir(d));
      for (const dir of dirs) {
        if (!existsSync(join(dir, 'module.yaml'))) {
          const base = dir.split('/').pop()!;
          if (existsSync(join(dir, 'module.py')) && !this.osvOnly.has(base)) this.osvOnly.set(base, dir);
          continue;
        }
        const def = readModuleFile(dir);
        const earlier = this.byName.get(def.name);
        if (!earlier) {
          this.byName.set(def.name, def);
          this.rootOf.set(def.name, index);
        }
        else if (root === builtinModuleDir) this.shadows.set(def.name, `module ${def.name}: ${earlier.dir} shadows the built-in module of that name`);
      }
    }
  }

  get(name: string): ModuleDefinition | undefined {
    return this.byName.get(name);
  }

  /** Whether a module, or an OSv folder not imported yet, goes by this name. */
  has(name: string): boolean {
    return this.byName.has(name) || this.osvOnly.has(name);
  }

  /** The module, or an error: an OSv folder not imported yet names the import command. */
  require(name: string, missing: () => UsageError): ModuleDefinition {
    const def = this.byName.get(name);
    if (def) return def;
    const osv = this.osvOnly.get(name);
    throw osv ? osvModuleError(osv, name) : missing();
  }

  /** Modules that list `name` in provides:, sorted by name. */
  providersOf(name: string): ModuleDefinition[] {
    return this.all().filter((m) => m.provides.includes(name));
  }

  /** Position in roots of the folder a module was found in (0: ./modules or a modules=/path); lower wins. */
  rootIndex(name: string): number {
    return this.rootOf.get(name) ?? this.roots.length;
  }

  /** Load an absolute module path (modules=/abs/path) under its own name. */
  addPath(dir: string): ModuleDefinition {
    if (!existsSync(join(dir, 'module.yaml')) && existsSync(join(dir, 'module.py'))) throw osvModuleError(dir);
    const def = readModuleFile(dir);
    this.byName.set(def.name, def);
    this.rootOf.set(def.name, 0);
    return def;
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  all(): ModuleDefinition[] {
    return this.names().map((n) => this.byName.get(n)!);
  }

  /** OSv module folders (module.py, no module.yaml) found on the search roots. */
  osvFolders(): string[] {
    return [...this.osvOnly.values()];
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
