/**
 * `files:` in module.yaml, OSv's usr_files FileMap: a host folder mapped to a
 * guest folder (or one file to a guest path), with include and exclude globs matched against the path
 * relative to that folder (`*` and `?` stay within one path segment, `**`
 * crosses them, `**` + `/` also matches no folder at all).
 *
 *   files:
 *     - from: ROOTFS            # host folder: relative to the module folder, ${MODULE_DIR}/${MODULE_BUILD} allowed
 *       to: /                   # guest folder
 *       include: ['lib/**', 'bin/*']   # default: everything
 *       exclude: ['**' + '/*.a']
 *
 * Like a manifest, a file map is expanded after the module's build has run.
 */
import { existsSync, lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { substituteVariables } from './manifest.ts';
import type { ManifestEntry } from './types.ts';

export interface FileMap {
  readonly from: string;
  readonly to: string;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** Where it was written, for messages: `module.yaml: files[0]`. */
  readonly where: string;
}

const keys = new Set(['from', 'to', 'include', 'exclude']);

export function parseFileMaps(value: unknown, file: string): FileMap[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new UsageError(`${file}: files must be a list of {from, to, include, exclude}`);
  return value.map((raw, i) => {
    const where = `${file}: files[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`${where} must be {from: HOST_FOLDER, to: /GUEST/FOLDER, include: [...], exclude: [...]}`);
    const r = raw as Record<string, unknown>;
    for (const k of Object.keys(r)) if (!keys.has(k)) throw new UsageError(`${where}: unknown key ${k}`, `file map keys: ${[...keys].join(', ')}`);
    if (typeof r.from !== 'string' || r.from === '') throw new UsageError(`${where}: from: must name a host folder`);
    if (typeof r.to !== 'string' || !r.to.startsWith('/')) throw new UsageError(`${where}: to: must be an absolute guest folder`, 'e.g. to: / or to: /usr/lib/app');
    const globs = (k: string): string[] => {
      const v = r[k] ?? [];
      const list = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && x !== '')) throw new UsageError(`${where}: ${k} must be a list of globs`);
      return list as string[];
    };
    return { from: r.from, to: r.to, include: globs('include'), exclude: globs('exclude'), where };
  });
}

/** A glob (`*`, `?`, `**`) as a regular expression over a relative path. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      if (glob[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export interface FileMapContext {
  readonly module: string;
  readonly dir: string;
  readonly variables: Readonly<Record<string, string>>;
  /** false: a missing host folder is not an error (previews before the module's build). */
  readonly requireFiles: boolean;
}

/** The files (and symlinks) a map selects, at their guest paths. Undefined when the folder is missing and requireFiles is false. */
export function expandFileMap(map: FileMap, ctx: FileMapContext): ManifestEntry[] | undefined {
  const hostDir = resolve(ctx.dir, substituteVariables(map.from, ctx.variables, map.where));
  if (!existsSync(hostDir)) {
    if (!ctx.requireFiles) return undefined;
    throw new UsageError(`${map.where}: from: ${hostDir} does not exist`, 'check the folder, or have the module\'s build: command create it');
  }
  if (!statSync(hostDir).isDirectory()) {
    // One file, as OSv's usr_files.add(FILE).to(GUEST_PATH): globs have nothing to choose from.
    if (map.include.length || map.exclude.length) throw new UsageError(`${map.where}: from: ${hostDir} is a file: include/exclude only apply to a folder`);
    return [{ guestPath: map.to, source: { kind: 'file', path: hostDir }, module: ctx.module }];
  }
  const include = (map.include.length ? map.include : ['**']).map(globToRegExp);
  const exclude = map.exclude.map(globToRegExp);
  const out: ManifestEntry[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(hostDir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const src = join(hostDir, r);
      const st = lstatSync(src);
      if (st.isDirectory()) {
        walk(r);
        continue;
      }
      if (!include.some((g) => g.test(r)) || exclude.some((g) => g.test(r))) continue;
      const guestPath = posix.join(map.to, r);
      out.push({ guestPath, source: st.isSymbolicLink() ? { kind: 'symlink', target: readlinkSync(src) } : { kind: 'file', path: src }, module: ctx.module });
    }
  };
  walk('');
  return out;
}
