/**
 * Stage 1: layered configuration. Precedence, lowest first: schema defaults <
 * built-in profile (conf/profiles) < project profile (./conf/profiles) <
 * project file (./tailor.yaml) < command line. Then the driver profile and
 * OSv's implication rules, validation, warnings and the hash.
 */
import { targetArch } from './arch.ts';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { repoRoot } from '../util/paths.ts';
import { parseYamlFile } from '../util/yaml-file.ts';
import { readProfileFile, type AssignOp } from './profile-file.ts';
import { driverImplications, driverProfiles, driverSwitches, optionSchema, optionsByName, type DriverSwitch } from './schema.ts';
import type { OptionSpec } from './schema-types.ts';
import { didYouMean } from './suggest.ts';
import type { BuildConfig, OptionValue, ValueSource } from './types.ts';
import { formatOptionValue, parseOptionValue } from './values.ts';

export const builtinProfileDir = join(repoRoot, 'conf', 'profiles');

interface Assignment {
  key: string;
  op: AssignOp;
  value: string;
  source: ValueSource;
  where: string;
}

export interface ResolveOptions {
  cwd?: string;
}

/** Parse the build arguments (`key=value`, `-Os`, `-march=...`, `--profile=NAME`, `--module-path=DIR`) and resolve. */
export function resolveConfig(args: readonly string[], options: ResolveOptions = {}): BuildConfig {
  const cwd = resolve(options.cwd ?? process.cwd());
  const warnings: string[] = [];
  const cli: Assignment[] = [];
  const modulePaths: string[] = [];
  let profileName: string | undefined;

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const source: ValueSource = { kind: 'command-line', arg };
    const where = `command line argument "${arg}"`;
    if (arg === '--profile' || arg === '--module-path') {
      const next = args[++i];
      if (next === undefined) throw new UsageError(`${arg} needs a value`, `write ${arg}=NAME`);
      if (arg === '--profile') profileName = next;
      else modulePaths.push(resolve(cwd, next));
    } else if (arg.startsWith('--profile=')) profileName = arg.slice('--profile='.length);
    else if (arg.startsWith('--module-path=')) modulePaths.push(resolve(cwd, arg.slice('--module-path='.length)));
    else if (/^-O[0-9sz]?$/.test(arg)) cli.push({ key: 'opt', op: '=', value: arg, source, where });
    else if (arg.startsWith('-march=')) cli.push({ key: 'march', op: '=', value: arg.slice(7), source, where });
    else if (arg.startsWith('-mtune=')) cli.push({ key: 'mtune', op: '=', value: arg.slice(7), source, where });
    else if (arg.startsWith('-')) throw new UsageError(`unknown build flag ${arg}`, 'build options are key=value (see `tailor options`), or -Os/-O2/-O3, -march=, -mtune=, --profile=NAME');
    else {
      const eq = arg.indexOf('=');
      if (eq <= 0) {
        throw new UsageError(`build argument "${arg}" is not key=value`, `${didYouMean(arg, optionsByName.keys()) ?? 'see `tailor options` for the option names'}`);
      }
      cli.push({ key: arg.slice(0, eq), op: '=', value: arg.slice(eq + 1), source, where });
    }
  }

  // Layers, lowest precedence first.
  const layers: Assignment[][] = [];
  let projectFileProfile: string | undefined;
  const projectFile = join(cwd, 'tailor.yaml');
  const projectAssignments = existsSync(projectFile) ? readProjectFile(projectFile, (p) => (projectFileProfile = p)) : [];
  // where the profile name came from, for errors about it
  const profileFrom = profileName !== undefined ? `--profile=${profileName}` : `${projectFile}: extends: ${projectFileProfile}`;
  profileName ??= projectFileProfile;
  if (profileName !== undefined) layers.push(...profileLayers(profileName, cwd, profileFrom));
  layers.push(projectAssignments, cli);

  const values = new Map<string, { value: OptionValue; source: ValueSource }>();
  for (const spec of optionSchema) values.set(spec.name, { value: cloneDefault(spec), source: { kind: 'default' } });
  const explicit = new Set<string>();
  for (const layer of layers) {
    for (const a of layer) applyAssignment(a, values, explicit, warnings);
  }
  resolveDrivers(values, explicit);
  resolveArch(values, explicit);
  validateCombination(values);
  const opts = Object.fromEntries([...values].map(([k, v]) => [k, v.value]));
  for (const spec of optionSchema) {
    if (!explicit.has(spec.name) || !spec.noEffect) continue;
    const why = spec.noEffect(opts);
    if (why) warnings.push(`${spec.name}=${formatOptionValue(values.get(spec.name)!.value)} has no effect: ${why}`);
  }

  return Object.freeze({
    options: Object.freeze(opts),
    sources: Object.freeze(Object.fromEntries([...values].map(([k, v]) => [k, v.source]))),
    profileName,
    hash: configHash(opts),
    warnings: Object.freeze(warnings),
    modulePaths: Object.freeze(modulePaths),
    cwd,
  });
}

/** sha256 over the options that change the image (not the output folder name). */
export function configHash(options: Readonly<Record<string, OptionValue>>): string {
  const canonical = Object.keys(options)
    .filter((k) => k !== 'name' && k !== 'export')
    .sort()
    .map((k) => [k, options[k]]);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/** Built-in profile first, then the project's profile of the same name (it refines the built-in one). */
function profileLayers(name: string, cwd: string, from: string): Assignment[][] {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new UsageError(`${from}: a profile name is letters, digits, _ . -`);
  const builtin = join(builtinProfileDir, `${name}.mk`);
  const project = join(cwd, 'conf', 'profiles', `${name}.mk`);
  const layers: Assignment[][] = [];
  const fromFile = (file: string, kind: 'profile' | 'project-profile') =>
    readProfileFile(file).map((a) => ({
      key: a.key,
      op: a.op,
      value: a.value,
      where: `${a.file}:${a.line}`,
      source: { kind, name, file: a.file, line: a.line } as ValueSource,
    }));
  if (existsSync(builtin)) layers.push(fromFile(builtin, 'profile'));
  if (existsSync(project) && resolve(project) !== resolve(builtin)) layers.push(fromFile(project, 'project-profile'));
  if (layers.length === 0) {
    throw new UsageError(`${from}: no profile named ${name}`, `${didYouMean(name, listProfiles(cwd)) ?? `profiles: ${listProfiles(cwd).join(', ')}`}`);
  }
  return layers.map(expandFlags);
}

export function listProfiles(cwd: string): string[] {
  const names = new Set<string>();
  for (const dir of [builtinProfileDir, join(cwd, 'conf', 'profiles')]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSyncSafe(dir)) if (f.endsWith('.mk')) names.add(f.slice(0, -3));
  }
  return [...names].sort();
}

function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** CFLAGS/CXXFLAGS lines, as in OSv profiles: -O* → opt, -march= → march, -mtune= → mtune, the rest → cflags. */
function expandFlags(layer: Assignment[]): Assignment[] {
  return layer.flatMap((a) => {
    if (a.key !== 'CFLAGS' && a.key !== 'CXXFLAGS') return [a];
    return a.value.split(/\s+/).filter(Boolean).map((flag): Assignment => {
      if (/^-O[0-9sz]?$/.test(flag)) return { ...a, key: 'opt', op: '=', value: flag };
      if (flag.startsWith('-march=')) return { ...a, key: 'march', op: '=', value: flag.slice(7) };
      if (flag.startsWith('-mtune=')) return { ...a, key: 'mtune', op: '=', value: flag.slice(7) };
      return { ...a, key: 'cflags', op: '+=', value: flag };
    });
  });
}

function readProjectFile(file: string, setProfile: (name: string) => void): Assignment[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const doc = parseYamlFile(text, file);
  if (doc === null || doc === undefined) return [];
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UsageError(`${file}: must be a mapping of option names to values (e.g. "fs: rofs")`);
  }
  const out: Assignment[] = [];
  for (const [key, raw] of Object.entries(doc as Record<string, unknown>)) {
    if (key === 'extends') {
      if (typeof raw !== 'string') throw new UsageError(`${file}: extends: takes a profile name`);
      setProfile(raw);
      continue;
    }
    const items = Array.isArray(raw) ? raw : [raw];
    if (items.some((x) => x === null || typeof x === 'object')) {
      throw new UsageError(`${file} (${key}): takes one value or a list of values, not ${raw === null ? 'nothing' : 'a mapping or nested list'}`, `e.g. "fs: rofs" or "image: [native-example, libz]"`);
    }
    const value = Array.isArray(raw) ? raw.map(String).join(',') : typeof raw === 'boolean' ? (raw ? '1' : '0') : String(raw);
    out.push({ key, op: '=', value, where: `${file} (${key})`, source: { kind: 'project-file', file } });
  }
  return expandFlags(out);
}

function applyAssignment(
  a: Assignment,
  values: Map<string, { value: OptionValue; source: ValueSource }>,
  explicit: Set<string>,
  warnings: string[],
): void {
  const spec = optionsByName.get(a.key);
  if (!spec) {
    const hint = didYouMean(a.key, optionSchema.map((s) => s.name));
    throw new UsageError(`${a.where}: unknown option ${a.key}`, hint ?? 'see `tailor options` for every option');
  }
  if (spec.name !== a.key) {
    warnings.push(`${a.key} is accepted as another name for ${spec.name} (${a.where})`);
  }
  const current = values.get(spec.name)!;
  const parsed = parseOptionValue(spec, a.value, a.where);
  let value: OptionValue = parsed;
  if (a.op === '?=' && explicit.has(spec.name)) return;
  if (a.op === '+=') {
    if (spec.type === 'list') value = [...(current.value as string[]), ...(parsed as string[])];
    else if (spec.type === 'string') value = `${current.value as string} ${parsed as string}`.trim();
    else throw new UsageError(`${a.where}: ${a.key} += ...: += appends to list options only; use ${a.key} = ...`);
  }
  values.set(spec.name, { value, source: a.source });
  explicit.add(spec.name);
}

/** Apply conf_drivers_profile to the switches not set explicitly, then OSv's implication rules. */
function resolveDrivers(values: Map<string, { value: OptionValue; source: ValueSource }>, explicit: Set<string>): void {
  const profile = values.get('conf_drivers_profile')!.value as string;
  const on = new Set<DriverSwitch>(driverProfiles[profile]!.on);
  for (const sw of driverSwitches) {
    const name = `conf_drivers_${sw}`;
    if (explicit.has(name)) continue;
    values.set(name, { value: on.has(sw), source: { kind: 'derived', reason: `conf_drivers_profile=${profile}` } });
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const sw of driverSwitches) {
      if (values.get(`conf_drivers_${sw}`)!.value !== true) continue;
      for (const needed of driverImplications[sw] ?? []) {
        const name = `conf_drivers_${needed}`;
        const cur = values.get(name)!;
        if (cur.value === true) continue;
        if (explicit.has(name)) {
          throw new UsageError(
            `conf_drivers_${sw}=1 needs ${name}=1, but ${name}=0 was set (${describeSource(cur.source)})`,
            `remove ${name}=0 or set conf_drivers_${sw}=0`,
          );
        }
        values.set(name, { value: true, source: { kind: 'derived', reason: `implied by conf_drivers_${sw}=1` } });
        changed = true;
      }
    }
  }
}

/**
 * What the target architecture decides: march= for modules built from source
 * (when not given), and driver switches its QEMU machine cannot have, turned
 * off when a drivers profile brought them, an error when asked for by name.
 */
function resolveArch(values: Map<string, { value: OptionValue; source: ValueSource }>, explicit: Set<string>): void {
  const arch = targetArch(values.get('arch')!.value);
  const march = values.get('march')!;
  if (!explicit.has('march') && march.value !== arch.guest.defaultMarch) {
    values.set('march', { value: arch.guest.defaultMarch, source: { kind: 'derived', reason: `arch=${arch.name}` } });
  }
  for (const [sw, why] of Object.entries(arch.kernel.unsupportedDrivers)) {
    const name = `conf_drivers_${sw}`;
    const cur = values.get(name)!;
    if (cur.value !== true) continue;
    if (explicit.has(name)) {
      throw new UsageError(`${name}=1 (${describeSource(cur.source)}) cannot work with arch=${arch.name}: ${why}`, `remove ${name}=1, or use arch=x64`);
    }
    values.set(name, { value: false, source: { kind: 'derived', reason: `arch=${arch.name}: ${why}` } });
  }
}

function validateCombination(values: Map<string, { value: OptionValue; source: ValueSource }>): void {
  const get = (k: string) => values.get(k)!.value;
  const image = get('image') as string[];
  if (image.length === 0) throw new UsageError('image= is empty', 'name at least one module, or image=empty for the empty image');
  // Turned off by a configuration profile (minimal: no disks for ramfs images), the disk root's need brings it back.
  const blkFromProfile = fromConfigurationProfile(values.get('conf_drivers_virtio_blk')!.source);
  if (get('fs') === 'rofs' && get('conf_drivers_virtio_blk') !== true && get('kernel') !== 'stock' && !blkFromProfile) {
    throw new UsageError('fs=rofs boots from a virtio-blk disk, but conf_drivers_virtio_blk=0', 'set conf_drivers_virtio_blk=1 or use fs=ramfs');
  }
}

/** Whether a configuration profile (built-in or the project's) set the value: such a default yields to an image's needs. */
export function fromConfigurationProfile(source: ValueSource | undefined): boolean {
  return source?.kind === 'profile' || source?.kind === 'project-profile';
}

export function describeSource(source: ValueSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'profile':
      return `built-in profile ${source.name} (${relativeToRepo(source.file)}:${source.line})`;
    case 'project-profile':
      return `project profile ${source.name} (${source.file}:${source.line})`;
    case 'project-file':
      return `project file ${source.file}`;
    case 'command-line':
      return `command line (${source.arg})`;
    case 'derived':
      return source.reason;
  }
}

function relativeToRepo(file: string): string {
  return file.startsWith(repoRoot + '/') ? file.slice(repoRoot.length + 1) : file;
}

function cloneDefault(spec: OptionSpec): OptionValue {
  return Array.isArray(spec.default) ? [...spec.default] : (spec.default as OptionValue);
}
