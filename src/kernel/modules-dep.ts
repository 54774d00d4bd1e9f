/**
 * The kernel's module dependency data, in depmod's own file formats
 * (modules.dep, modules.builtin, modules.softdep, modules.alias), and the
 * closure of the modules an image must load, dependencies first.
 *
 * Debian's linux-image package ships no modules.dep (its postinst runs
 * depmod on the installed system), so writeModuleIndex() produces the same
 * files from the .modinfo section of every .ko: `depends=` there is what
 * modpost computed from symbol references, i.e. what depmod would find.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { TailorError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { readElfFile } from '../elf/index.ts';
import type { KernelModuleFile } from './types.ts';

export interface ModuleEntry {
  /** Path relative to /lib/modules/<release>, e.g. kernel/drivers/block/virtio_blk.ko */
  readonly path: string;
  /** Paths of every module it needs (depmod lists the full transitive set). */
  readonly deps: readonly string[];
}

export interface ModuleIndex {
  readonly release: string;
  /** Host directory holding the modules (the package's lib/modules/<release>). */
  readonly dir: string;
  readonly modules: ReadonlyMap<string, ModuleEntry>;
  /** Names of modules compiled into the kernel (=y): nothing to load. */
  readonly builtin: ReadonlySet<string>;
  /** Modules to load before a module (softdep pre:), e.g. ext4 -> crc32c. Names or aliases. */
  readonly softdepPre: ReadonlyMap<string, readonly string[]>;
  /** Plain (wildcard-free) alias -> module names providing it, e.g. crc32c -> crc32c_generic, crc32c_intel. */
  readonly aliases: ReadonlyMap<string, readonly string[]>;
  /** Aliases that a built-in module provides (modules.builtin.modinfo), e.g. sha256: already there. */
  readonly builtinAliases: ReadonlySet<string>;
}

/** Module name as the kernel knows it: file name without .ko[.xz|.zst|.gz], dashes as underscores. */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

/** Parse depmod's modules.dep: `path: dep dep ...` per line. */
export function parseModulesDep(text: string, file = 'modules.dep'): Map<string, ModuleEntry> {
  const modules = new Map<string, ModuleEntry>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new TailorError(`${file}:${i + 1}: expected "module.ko: deps...", got "${line}"`);
    const path = line.slice(0, colon).trim();
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter(Boolean);
    modules.set(moduleName(path), { path, deps });
  });
  return modules;
}

/** Parse modules.builtin: one path per line. */
export function parseModulesBuiltin(text: string): Set<string> {
  return new Set(text.split('\n').map((l) => l.trim()).filter(Boolean).map(moduleName));
}

/** Parse modules.softdep: `softdep MOD pre: a b post: c`; keeps the pre: part. */
export function parseModulesSoftdep(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const words = raw.trim().split(/\s+/);
    if (words[0] !== 'softdep' || !words[1]) continue;
    const pre = softdepPre(words.slice(2).join(' '));
    if (pre.length) { const mod = words[1].replace(/-/g, '_'); out.set(mod, [...(out.get(mod) ?? []), ...pre]); }
  }
  return out;
}

/** The `pre:` names of a softdep value such as "pre: crc32c post: foo". */
function softdepPre(value: string): string[] {
  const pre: string[] = [];
  let section = '';
  for (const w of value.split(/\s+/).filter(Boolean)) {
    if (w === 'pre:' || w === 'post:') section = w;
    else if (section === 'pre:') pre.push(w); // a module name or an alias (crypto-crc32c): kept as written
  }
  return pre;
}

/** Parse modules.alias (`alias NAME MODULE`), keeping only wildcard-free aliases. */
export function parseModulesAlias(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const [kw, alias, mod] = raw.trim().split(/\s+/);
    if (kw !== 'alias' || !alias || !mod || /[*?[]/.test(alias)) continue;
    out.set(alias, [...(out.get(alias) ?? []), mod.replace(/-/g, '_')].sort());
  }
  return out;
}

/** Aliases of built-in modules from modules.builtin.modinfo (NUL-separated `module.alias=NAME`). */
export function parseBuiltinAliases(text: string): Set<string> {
  const out = new Set<string>();
  for (const field of text.split('\0')) {
    const m = /^[^.=]+\.alias=([^*?[]+)$/.exec(field);
    if (m) out.add(m[1]!);
  }
  return out;
}

async function readOptional(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** Load the index files of `dir` (/lib/modules/<release> of a kernel). modules.dep is required. */
export async function loadModuleIndex(dir: string, release: string): Promise<ModuleIndex> {
  const depFile = join(dir, 'modules.dep');
  let depText: string;
  try {
    depText = await readFile(depFile, 'utf8');
  } catch (err) {
    throw new TailorError(`cannot read ${depFile}: ${(err as Error).message}`, {
      hint: 'the stock kernel cache looks damaged; delete it (tailor kernel prune, or remove the folder) and build again',
    });
  }
  return {
    release,
    dir,
    modules: parseModulesDep(depText, depFile),
    builtin: parseModulesBuiltin(await readOptional(join(dir, 'modules.builtin'))),
    softdepPre: parseModulesSoftdep(await readOptional(join(dir, 'modules.softdep'))),
    aliases: parseModulesAlias(await readOptional(join(dir, 'modules.alias'))),
    builtinAliases: parseBuiltinAliases(await readOptional(join(dir, 'modules.builtin.modinfo'))),
  };
}

interface ModInfo {
  readonly name: string;
  readonly path: string;
  readonly depends: string[];
  readonly softdep: string[];
  readonly aliases: string[];
}

async function listModuleFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/\.ko(\.(xz|zst|gz))?$/.test(e.name)) out.push(relative(dir, p));
    }
  };
  await walk(join(dir, 'kernel'));
  return out.sort();
}

async function readModInfo(dir: string, path: string): Promise<ModInfo> {
  if (!path.endsWith('.ko')) {
    throw new TailorError(`${join(dir, path)} is compressed and this kernel package has no modules.dep`, {
      hint: 'Tailor reads module dependencies from uncompressed .ko files (Debian 6.1 ships them uncompressed)',
    });
  }
  const elf = await readElfFile(join(dir, path));
  const modinfo = elf.sections.find((s) => s.name === '.modinfo');
  const section = modinfo && elf.data.subarray(modinfo.offset, modinfo.offset + modinfo.size);
  if (!section) throw new TailorError(`${join(dir, path)} has no .modinfo section; is it a kernel module?`);
  let name = moduleName(path);
  let depends: string[] = [];
  const softdep: string[] = [];
  const aliases: string[] = [];
  for (const field of section.toString('utf8').split('\0')) {
    const eq = field.indexOf('=');
    if (eq < 0) continue;
    const key = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (key === 'name') name = value.replace(/-/g, '_');
    else if (key === 'depends') depends = value.split(',').filter(Boolean).map((d) => d.replace(/-/g, '_'));
    else if (key === 'softdep') softdep.push(value);
    else if (key === 'alias') aliases.push(value);
  }
  return { name, path, depends, softdep, aliases };
}

/**
 * Write modules.dep, modules.softdep and modules.alias into `dir` from the
 * .modinfo of every module below dir/kernel, in depmod's formats (a
 * module's line lists its whole dependency set, the first to load last).
 * Returns the number of modules.
 */
export async function writeModuleIndex(dir: string): Promise<number> {
  // A few files at a time: each module is read whole, and there are thousands.
  const paths = await listModuleFiles(dir);
  const infos: ModInfo[] = [];
  for (let i = 0; i < paths.length; i += 16) {
    infos.push(...(await Promise.all(paths.slice(i, i + 16).map((p) => readModInfo(dir, p)))));
  }
  const byName = new Map(infos.map((m) => [m.name, m]));
  const closure = (start: ModInfo): string[] => {
    const order: string[] = [];
    const seen = new Set<string>();
    const visit = (m: ModInfo, chain: string[]) => {
      for (const d of m.depends) {
        const dep = byName.get(d);
        if (!dep) throw new TailorError(`${m.path} depends on module "${d}", which this kernel package does not contain`);
        if (chain.includes(d)) throw new TailorError(`module dependency cycle: ${[...chain, d].join(' -> ')}`);
        if (seen.has(d)) continue;
        seen.add(d);
        visit(dep, [...chain, d]);
        order.push(dep.path);
      }
    };
    visit(start, [start.name]);
    return order.reverse();
  };
  const dep = infos.map((m) => `${m.path}:${closure(m).map((p) => ` ${p}`).join('')}\n`).join('');
  const soft = infos
    .filter((m) => m.softdep.length)
    .map((m) => `softdep ${m.name} ${m.softdep.join(' ')}\n`)
    .join('');
  const alias = infos.flatMap((m) => m.aliases.map((a) => `alias ${a} ${m.name}\n`)).join('');
  await writeFileAtomic(join(dir, 'modules.dep'), dep);
  await writeFileAtomic(join(dir, 'modules.softdep'), `# Soft dependencies extracted from modules by Tailor\n${soft}`);
  await writeFileAtomic(join(dir, 'modules.alias'), `# Aliases extracted from modules by Tailor\n${alias}`);
  return infos.length;
}

/** The module that provides a softdep target (a module name or an alias); undefined when none does. */
function softdepProvider(index: ModuleIndex, target: string): string | undefined {
  const asName = target.replace(/-/g, '_');
  if (index.modules.has(asName)) return asName;
  if (index.builtin.has(asName) || index.builtinAliases.has(target)) return undefined; // already in the kernel
  const providers = index.aliases.get(target) ?? [];
  // Prefer the portable C implementation: CPU-specific ones (crc32c_intel) fail to load on CPUs without the instructions.
  return providers.find((p) => p.endsWith('_generic')) ?? providers[0];
}

/**
 * Every module file needed to load `names`, dependencies (and softdep pre:
 * modules) first, each once. Built-in modules need nothing. An unknown name
 * is an error naming it.
 */
export function resolveModules(index: ModuleIndex, names: readonly string[]): KernelModuleFile[] {
  const order: KernelModuleFile[] = [];
  const done = new Set<string>();
  const visit = (name: string, chain: string[], optional: boolean) => {
    if (done.has(name) || index.builtin.has(name)) return;
    const entry = index.modules.get(name);
    if (!entry) {
      if (optional) return;
      const why = chain.length ? ` (needed by ${chain.join(' <- ')})` : '';
      throw new TailorError(`kernel ${index.release} has no module "${name}"${why}`, {
        hint: `the modules this kernel has are listed in ${join(index.dir, 'modules.dep')}`,
      });
    }
    if (chain.includes(name)) {
      if (optional) return; // a soft dependency pointing back up the chain: the hard order already covers it
      throw new TailorError(`module dependency cycle: ${[...chain].reverse().concat(name).join(' -> ')}`);
    }
    const next = [name, ...chain];
    for (const soft of index.softdepPre.get(name) ?? []) {
      const provider = softdepProvider(index, soft);
      if (provider && provider !== name) visit(provider, next, true);
    }
    // depmod lists the module to load first last.
    for (const depPath of [...entry.deps].reverse()) visit(moduleName(depPath), next, false);
    if (done.has(name)) return;
    done.add(name);
    order.push({ guestPath: `/lib/modules/${index.release}/${entry.path}`, source: join(index.dir, entry.path) });
  };
  for (const n of names) visit(n.replace(/-/g, '_'), [], false);
  return order;
}
