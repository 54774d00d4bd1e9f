/** module.yaml: a module's name, dependencies, kernel needs, run command and build command. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UsageError } from '../errors.ts';
import { parseYamlFile } from '../util/yaml-file.ts';

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
  readonly run?: string;
  readonly build?: string;
  readonly hasManifest: boolean;
  /** Debian packages the module takes files from: package name → a file that shows it is installed. */
  readonly packages: Readonly<Record<string, string>>;
}

const knownKeys = new Set(['name', 'description', 'requires', 'requires_if_present', 'kernel', 'run', 'build', 'packages']);

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
  return {
    name: text('name') ?? basename(dir),
    dir,
    description: text('description') ?? '',
    requires: strings('requires'),
    conditional,
    kernel: strings('kernel'),
    run: text('run'),
    build: text('build'),
    hasManifest: existsSync(join(dir, 'usr.manifest')),
    packages: packagesRaw as Record<string, string>,
  };
}
