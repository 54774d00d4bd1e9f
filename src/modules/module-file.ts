/**
 * module.yaml: a module's name, dependencies (and what it provides), kernel
 * needs, run configurations, init commands, file maps and build command.
 * Its usr.manifest is not looked at here: a build may write it (manifestPath).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { parseYamlFile } from '../util/yaml-file.ts';
import { parseFileMaps, type FileMap } from './file-map.ts';
import { defaultConfig, parseRunConfigs, type RunConfig } from './run-config.ts';

export interface ConditionalRequire {
  /** Module to add ... */
  readonly require: string;
  /** ... when this one is in the image too (OSv's require_if_other_module_present). */
  readonly ifPresent: string;
}

export interface ModuleDefinition {
  readonly name: string;
  readonly dir: string;
  readonly description: string;
  readonly requires: readonly string[];
  readonly conditional: readonly ConditionalRequire[];
  readonly kernel: readonly string[];
  /** Names this module also answers to in requires (OSv's provides), e.g. java. */
  readonly provides: readonly string[];
  /** Run configurations by name (`default` from run:); image=MODULE.NAME picks one. */
  readonly configs: Readonly<Record<string, RunConfig>>;
  /** The default configuration's command line, if any. */
  readonly run?: string;
  /** Commands run before the application (OSv's api.run_on_init), in order. */
  readonly runOnInit: readonly string[];
  /** OSv's usr_files: host folders mapped into the guest with include/exclude globs. */
  readonly files: readonly FileMap[];
  readonly build?: string;
  /** Unified diffs (absolute paths) applied to the custom kernel's source, in order. */
  readonly kernelPatches: readonly string[];
  /** A Kbuild folder (absolute path) built into the custom kernel. */
  readonly kernelSources?: string;
  /** Debian packages the module takes files from: package name → a file that shows it is installed. */
  readonly packages: Readonly<Record<string, string>>;
}

const knownKeys = new Set(['name', 'description', 'requires', 'requires_if_present', 'provides', 'kernel', 'run', 'configs', 'run_on_init', 'files', 'build', 'packages', 'kernel_patches', 'kernel_sources']);

/** The module's usr.manifest if it exists now: asked when the plan is made, after the module's build (which may write it). */
export function manifestPath(def: ModuleDefinition): string | undefined {
  const file = join(def.dir, 'usr.manifest');
  return existsSync(file) ? file : undefined;
}

export function readModuleFile(dir: string): ModuleDefinition {
  const file = join(dir, 'module.yaml');
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const doc = parseYamlFile(source, file) ?? {};
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new UsageError(`${file}: must be a mapping (name:, requires:, kernel:, run:, build:)`);
  }
  const d = doc as Record<string, unknown>;
  for (const key of Object.keys(d)) {
    if (!knownKeys.has(key)) throw new UsageError(`${file}: unknown key ${key}`, `module.yaml keys: ${[...knownKeys].join(', ')}`);
  }
  const strings = (key: string): string[] => {
    const v = d[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new UsageError(`${file}: ${key} must be a list of names`);
    return v as string[];
  };
  const text = (key: string): string | undefined => {
    const v = d[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new UsageError(`${file}: ${key} must be text`);
    return v;
  };
  const conditionalRaw = d.requires_if_present ?? [];
  if (!Array.isArray(conditionalRaw)) throw new UsageError(`${file}: requires_if_present must be a list of {require, if_present}`);
  const conditional = conditionalRaw.map((c, i) => {
    const r = c as Record<string, unknown>;
    if (typeof r?.require !== 'string' || typeof r?.if_present !== 'string') {
      throw new UsageError(`${file}: requires_if_present[${i}] needs require: NAME and if_present: NAME`);
    }
    return { require: r.require, ifPresent: r.if_present };
  });
  const packagesRaw = d.packages ?? {};
  if (typeof packagesRaw !== 'object' || Array.isArray(packagesRaw) || packagesRaw === null) {
    throw new UsageError(`${file}: packages must map Debian package names to a file each ships (e.g. busybox-static: /bin/busybox)`);
  }
  for (const [pkg, path] of Object.entries(packagesRaw)) {
    if (typeof path !== 'string' || !path.startsWith('/')) {
      throw new UsageError(`${file}: packages.${pkg} must be an absolute path of a file the package ships`);
    }
  }
  const configs = parseRunConfigs(d.run, d.configs, file);
  const runOnInit = strings('run_on_init');
  if (runOnInit.some((c) => c.trim() === '')) throw new UsageError(`${file}: run_on_init has an empty command`);
  return {
    name: text('name') ?? basename(dir),
    dir,
    description: text('description') ?? '',
    requires: strings('requires'),
    conditional,
    kernel: strings('kernel'),
    provides: strings('provides'),
    configs,
    run: configs[defaultConfig]?.command,
    runOnInit,
    files: parseFileMaps(d.files, file),
    build: text('build'),
    kernelPatches: strings('kernel_patches').map((p) => resolve(dir, p)),
    ...(text('kernel_sources') !== undefined ? { kernelSources: resolve(dir, text('kernel_sources')!) } : {}),
    packages: packagesRaw as Record<string, string>,
  };
}
