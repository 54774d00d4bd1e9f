/** Where modules are found: project ./modules, extra paths, then Tailor's built-in modules/. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../util/paths.ts';
import { readModuleFile, type ModuleDefinition } from './module-file.ts';

export const builtinModuleDir = join(repoRoot, 'modules');

export class ModuleLibrary {
  private readonly byName = new Map<string, ModuleDefinition>();
  /** Search roots in lookup order (earlier wins). */
  readonly roots: readonly string[];

  constructor(cwd: string, extraPaths: readonly string[]) {
    this.roots = [join(cwd, 'modules'), ...extraPaths, builtinModuleDir];
    for (const root of this.roots) {
      if (!existsSync(root)) continue;
      // A path may be one module folder itself, or a folder of modules.
      const dirs = existsSync(join(root, 'module.yaml'))
        ? [root]
        : readdirSync(root).sort().map((n) => join(root, n)).filter((d) => isDir(d) && existsSync(join(d, 'module.yaml')));
      for (const dir of dirs) {
        const def = readModuleFile(dir);
        if (!this.byName.has(def.name)) this.byName.set(def.name, def);
      }
    }
  }

  get(name: string): ModuleDefinition | undefined {
    return this.byName.get(name);
  }

  /** Load an absolute module path (modules=/abs/path) under its own name. */
  addPath(dir: string): ModuleDefinition {
    const def = readModuleFile(dir);
    this.byName.set(def.name, def);
    return def;
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  all(): ModuleDefinition[] {
    return this.names().map((n) => this.byName.get(n)!);
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}


